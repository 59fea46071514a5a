package destination

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"github.com/weftdata/weft/internal/store"
)

// ProfilesBody is the body of a webhook without segments: the profiles
// whose chosen attributes or identifiers changed since they were last
// sent (or that were never sent).
type ProfilesBody struct {
	Profiles []Profile `json:"profiles"`
}

// ProfilesKey is the idempotency key of a batch of changed profiles: a
// digest of the entities and the hashes of their values, the same for a
// resend of the same batch.
func ProfilesKey(destination string, entities, hashes []string) string {
	h := sha256.New()
	for i := range entities {
		h.Write([]byte(entities[i]))
		h.Write([]byte{0})
		h.Write([]byte(hashes[i]))
		h.Write([]byte{0})
	}
	return destination + ":profiles:" + hex.EncodeToString(h.Sum(nil)[:16])
}

// profilesBatch sends the next batch of changed profiles. Once per run,
// when nothing is queued, the profiles whose hash differs from the one
// last sent are queued, set-based; each batch then takes the first
// batch_size of the queue, and the hashes sent replace the old ones in the
// transaction that dequeues them.
func (j *webhookJob) profilesBatch(ctx context.Context, st *WebhookState) (bool, error) {
	ids, hashes, err := j.queued(ctx)
	if err != nil {
		return false, err
	}
	if len(ids) == 0 {
		if st.Queued {
			return true, nil
		}
		if err := j.queueChanged(ctx); err != nil {
			return false, err
		}
		st.Queued = true
		return false, nil
	}
	profs, err := j.loadProfiles(ctx, scope{ids: ids})
	if err != nil {
		return false, err
	}
	now := j.deps.now()
	b := append(j.body[:0], `{"profiles":[`...)
	sent := 0
	for _, id := range ids {
		if vals, ok := profs[id]; ok {
			if sent > 0 {
				b = append(b, ',')
			}
			b = appendProfile(b, id, now, vals)
			sent++
		}
	}
	b = append(b, ']', '}')
	db, id := j.deps.DB, j.def.ID
	done := func(tx store.ExecutorTx) error {
		if _, err := tx.ExecContext(ctx, tx.Query("DestinationProfilesSent"), id, ids, now); err != nil {
			return fmt.Errorf("record the profiles sent: %w", err)
		}
		if _, err := tx.ExecContext(ctx, tx.Query("DestinationProfilesDequeue"), id, ids); err != nil {
			return fmt.Errorf("dequeue the profiles sent: %w", err)
		}
		return nil
	}
	st.Skipped += int64(len(ids) - sent) // consent withdrawn since queued
	if sent == 0 {
		return false, db.InTx(ctx, done)
	}
	if err := j.deliver(ctx, st, ProfilesKey(id, ids, hashes), sent, b, done); err != nil {
		return false, err
	}
	j.body = b[:0]
	return false, nil
}

// queued reads the first batch of the queue.
func (j *webhookJob) queued(ctx context.Context) (ids, hashes []string, err error) {
	db := j.deps.DB
	rows, err := db.QueryContext(ctx, db.Query("DestinationProfileBatch"), j.def.ID, j.def.batchSize())
	if err != nil {
		return nil, nil, fmt.Errorf("read the changed profiles: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, h string
		if err := rows.Scan(&id, &h); err != nil {
			return nil, nil, fmt.Errorf("read the changed profiles: %w", err)
		}
		ids, hashes = append(ids, id), append(hashes, h)
	}
	return ids, hashes, rows.Err()
}

// queueChanged queues the profiles whose chosen values changed.
func (j *webhookJob) queueChanged(ctx context.Context) error {
	db := j.deps.DB
	attrs, cats := j.def.Attributes, j.def.Identifiers
	if attrs == nil {
		attrs = []string{}
	}
	if cats == nil {
		cats = []string{}
	}
	res, err := db.ExecContext(ctx, db.Query("DestinationProfilesQueue"), j.def.ID, attrs, cats, j.def.Consent)
	if err != nil {
		return fmt.Errorf("find the changed profiles: %w", err)
	}
	if n, err := res.RowsAffected(); err == nil && n > 0 {
		j.inv.Log.Info("changed profiles queued", "profiles", n)
	}
	return nil
}
