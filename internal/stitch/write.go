package stitch

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// write applies a plan in one transaction that also moves the watermark,
// if no other pass moved it first.
func (e *Engine) write(ctx context.Context, b *batch, p *plan) error {
	now := e.now().UTC().Truncate(time.Microsecond)
	tx, err := e.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	steps := []struct {
		what string
		fn   func() (sql.Result, error)
	}{
		{"create entities", func() (sql.Result, error) {
			ids, seqs := make([]string, len(p.newEntities)), make([]int64, len(p.newEntities))
			for i, n := range p.newEntities {
				ids[i], seqs[i] = n.id, n.createdSeq
			}
			return tx.ExecContext(ctx, `INSERT INTO entities (id, created_seq, created_at, modified_at)
				SELECT unnest(CAST($1 AS TEXT[])), unnest(CAST($2 AS BIGINT[])), CAST($3 AS TIMESTAMPTZ), CAST($3 AS TIMESTAMPTZ)`, ids, seqs, now)
		}},
		{"merge entities", func() (sql.Result, error) {
			losers, survivors := mergePairs(p.merges)
			return tx.ExecContext(ctx, `UPDATE entities SET merged_into = m.survivor
				FROM (SELECT unnest(CAST($1 AS TEXT[])) AS loser, unnest(CAST($2 AS TEXT[])) AS survivor) m
				WHERE entities.id = m.loser`, losers, survivors)
		}},
		{"mark modified entities", func() (sql.Result, error) {
			return tx.ExecContext(ctx, `UPDATE entities SET modified_at = CAST($2 AS TIMESTAMPTZ)
				WHERE id IN (SELECT unnest(CAST($1 AS TEXT[])))`, p.touched, now)
		}},
		{"add identifiers", func() (sql.Result, error) {
			n := len(p.identifiers)
			cats, vals, ents, seqs := make([]string, n), make([]string, n), make([]string, n), make([]int64, n)
			for i, id := range p.identifiers {
				cats[i], vals[i], ents[i], seqs[i] = e.cats[id.key.cat], id.key.value, id.entity, id.firstSeq
			}
			return tx.ExecContext(ctx, `INSERT INTO identifiers (category, value, entity_id, first_seq)
				SELECT unnest(CAST($1 AS TEXT[])), unnest(CAST($2 AS TEXT[])), unnest(CAST($3 AS TEXT[])), unnest(CAST($4 AS BIGINT[]))`,
				cats, vals, ents, seqs)
		}},
		{"map events", func() (sql.Result, error) {
			return tx.ExecContext(ctx, `INSERT INTO entity_events (event_seq, entity_id)
				SELECT unnest(CAST($1 AS BIGINT[])), unnest(CAST($2 AS TEXT[]))`, b.seqs, p.eventEntity)
		}},
		{"log merges", func() (sql.Result, error) {
			n := len(p.merges)
			surv, lose, cats, vals, seqs := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]int64, n)
			for i, m := range p.merges {
				surv[i], lose[i], cats[i], vals[i], seqs[i] = m.survivor, m.loser, e.cats[m.key.cat], m.key.value, m.seq
			}
			return tx.ExecContext(ctx, `INSERT INTO stitch_merges (survivor, loser, event_seq, category, value, merged_at)
				SELECT unnest(CAST($1 AS TEXT[])), unnest(CAST($2 AS TEXT[])), unnest(CAST($3 AS BIGINT[])),
				       unnest(CAST($4 AS TEXT[])), unnest(CAST($5 AS TEXT[])), CAST($6 AS TIMESTAMPTZ)`,
				surv, lose, seqs, cats, vals, now)
		}},
		{"audit", func() (sql.Result, error) {
			var cats, vals, reasons []string
			var events, seqs []int64
			for k, r := range b.audit {
				cats, vals, reasons = append(cats, e.cats[k.cat]), append(vals, k.value), append(reasons, k.reason)
				events, seqs = append(events, r.events), append(seqs, r.firstSeq)
			}
			return tx.ExecContext(ctx, `INSERT INTO stitch_audit (category, value, reason, events, first_event_seq, recorded_at)
				SELECT unnest(CAST($1 AS TEXT[])), unnest(CAST($2 AS TEXT[])), unnest(CAST($3 AS TEXT[])),
				       unnest(CAST($4 AS BIGINT[])), unnest(CAST($5 AS BIGINT[])), CAST($6 AS TIMESTAMPTZ)`,
				cats, vals, reasons, events, seqs, now)
		}},
	}
	// The losers' events and identifiers go to their survivors.
	for _, table := range []string{"entity_events", "identifiers"} {
		steps = append(steps, struct {
			what string
			fn   func() (sql.Result, error)
		}{"move merged " + table, func() (sql.Result, error) {
			losers, survivors := mergePairs(p.merges)
			return tx.ExecContext(ctx, `UPDATE `+table+` SET entity_id = m.survivor
				FROM (SELECT unnest(CAST($1 AS TEXT[])) AS loser, unnest(CAST($2 AS TEXT[])) AS survivor) m
				WHERE `+table+`.entity_id = m.loser`, losers, survivors)
		}})
	}
	for _, s := range steps {
		if _, err := s.fn(); err != nil {
			return fmt.Errorf("stitch %d..%d: %s: %w", b.lo+1, b.hi, s.what, err)
		}
	}
	res, err := tx.ExecContext(ctx, `UPDATE stitch_state SET watermark = $1, updated_at = CAST($3 AS TIMESTAMPTZ) WHERE id = 1 AND watermark = $2`, b.hi, b.lo, now)
	if err != nil {
		return fmt.Errorf("move watermark: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return ErrConcurrentPass
	}
	return tx.Commit()
}

func mergePairs(ms []merge) (losers, survivors []string) {
	for _, m := range ms {
		losers, survivors = append(losers, m.loser), append(survivors, m.survivor)
	}
	return losers, survivors
}
