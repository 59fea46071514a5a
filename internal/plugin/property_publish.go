package plugin

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// StageResult says what a batch staged.
type StageResult struct {
	Updates int `json:"updates"`
	Values  int `json:"values"`
}

// Stage validates nothing more than ParseBatchData did and keeps the
// batch's values until the run publishes them. Staging a batch again (a
// resumed run) replaces what it staged before.
func (s *Service) Stage(ctx context.Context, run string, batch int, d *BatchData) (*StageResult, error) {
	tx, err := s.db.Begin(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	if _, err := tx.ExecContext(ctx, s.db.Query("PluginStagingDeleteBatch"), run, batch); err != nil {
		return nil, fmt.Errorf("stage batch %d of run %s: %w", batch, run, err)
	}
	res := &StageResult{Updates: len(d.Rows)}
	var (
		ords, props, ids, vals strings.Builder
		pending                int
	)
	add := func(b *strings.Builder, s string) {
		if pending > 0 {
			b.WriteByte(sep)
		}
		b.WriteString(s)
	}
	flush := func() error {
		if pending == 0 {
			return nil
		}
		_, err := tx.ExecContext(ctx, s.db.Query("PluginStagingInsert"), run, batch, ords.String(), props.String(), ids.String(), vals.String())
		ords.Reset()
		props.Reset()
		ids.Reset()
		vals.Reset()
		pending = 0
		return err
	}
	for i, id := range d.Rows {
		for j, v := range d.Values[i] {
			if v == nil {
				continue
			}
			add(&ords, strconv.Itoa(i))
			add(&props, d.Properties[j].Name)
			add(&ids, id)
			add(&vals, string(v))
			pending++
			res.Values++
			if pending == stagingChunk {
				if err := flush(); err != nil {
					return nil, fmt.Errorf("stage batch %d of run %s: %w", batch, run, err)
				}
			}
		}
	}
	if err := flush(); err != nil {
		return nil, fmt.Errorf("stage batch %d of run %s: %w", batch, run, err)
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("stage batch %d of run %s: %w", batch, run, err)
	}
	return res, nil
}

// Discard drops what a failed run staged.
func (s *Service) Discard(ctx context.Context, run string) error {
	if _, err := s.db.ExecContext(ctx, s.db.Query("PluginStagingDeleteRun"), run); err != nil {
		return fmt.Errorf("discard staged properties of run %s: %w", run, err)
	}
	return nil
}

// PublishParams name what a run publishes.
type PublishParams struct {
	Plugin string
	Run    string
	// Started is the run's start: property ids are
	// <plugin>/<started as 20060102T150405Z>/<name>.
	Started    time.Time
	Category   string
	Properties []PropertyDecl
}

// PublishResult says what a run published.
type PublishResult struct {
	// Properties are the published ids with how many users have a value.
	Properties map[string]int64 `json:"properties"`
	// Merged counts updates of merged-away ids moved to their survivor.
	Merged int64 `json:"merged"`
	// Unknown counts user ids that are no customer entity; their updates
	// are dropped. UnknownExamples lists a few.
	Unknown         int64    `json:"unknown"`
	UnknownExamples []string `json:"unknown_examples,omitempty"`
	// Already is true when the run had been published before.
	Already bool `json:"already,omitempty"`
}

// Publish makes a run's staged updates its published properties, in one
// transaction: ids of merged-away entities are mapped to the entity they
// were merged into, unknown ids are counted and dropped, and where two
// updates land on one user the last one staged wins. Publishing a run
// again changes nothing.
func (s *Service) Publish(ctx context.Context, p PublishParams) (*PublishResult, error) {
	res := &PublishResult{Properties: map[string]int64{}}
	tx, err := s.db.Begin(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	fail := func(what string, err error) (*PublishResult, error) {
		return nil, fmt.Errorf("publish run %s: %s: %w", p.Run, what, err)
	}
	var done int64
	if err := tx.QueryRowContext(ctx, s.db.Query("PluginPropertiesOfRun"), p.Run).Scan(&done); err != nil {
		return fail("check", err)
	}
	if done > 0 {
		res.Already = true
		return res, nil
	}
	for hop := 0; ; hop++ {
		r, err := tx.ExecContext(ctx, s.db.Query("PluginStagingFollowMerges"), p.Run)
		if err != nil {
			return fail("follow merges", err)
		}
		n, err := r.RowsAffected()
		if err != nil {
			return fail("follow merges", err)
		}
		res.Merged += n
		if n == 0 {
			break
		}
		if hop == mergeChainMaxHops {
			return fail("follow merges", fmt.Errorf("merge chains longer than %d", mergeChainMaxHops))
		}
	}
	if err := tx.QueryRowContext(ctx, s.db.Query("PluginStagingUnknownCount"), p.Run).Scan(&res.Unknown); err != nil {
		return fail("count unknown users", err)
	}
	if res.Unknown > 0 {
		rows, err := tx.QueryContext(ctx, s.db.Query("PluginStagingUnknownExamples"), p.Run, unknownExamples)
		if err != nil {
			return fail("list unknown users", err)
		}
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return fail("list unknown users", err)
			}
			res.UnknownExamples = append(res.UnknownExamples, id)
		}
		rows.Close()
	}
	prefix := PropertyPrefix(p.Plugin, p.Started)
	if _, err := tx.ExecContext(ctx, s.db.Query("PluginValuesPublish"), p.Run, prefix); err != nil {
		return fail("write values", err)
	}
	counts := map[string]int64{}
	rows, err := tx.QueryContext(ctx, s.db.Query("PluginValuesCount"), p.Run)
	if err != nil {
		return fail("count values", err)
	}
	for rows.Next() {
		var name string
		var n int64
		if err := rows.Scan(&name, &n); err != nil {
			rows.Close()
			return fail("count values", err)
		}
		counts[name] = n
	}
	rows.Close()
	now := s.now()
	for _, d := range p.Properties {
		typ := d.Type
		if typ == "" {
			typ = TypeText // only nulls: no value says otherwise
		}
		id := prefix + d.Name
		if _, err := tx.ExecContext(ctx, s.db.Query("PluginPropertyInsert"), id, p.Plugin, p.Run, d.Name, p.Category, typ, counts[d.Name], now); err != nil {
			return fail("write property "+d.Name, err)
		}
		res.Properties[id] = counts[d.Name]
	}
	if _, err := tx.ExecContext(ctx, s.db.Query("PluginStagingDeleteRun"), p.Run); err != nil {
		return fail("clear staging", err)
	}
	if err := tx.Commit(); err != nil {
		return fail("commit", err)
	}
	return res, nil
}
