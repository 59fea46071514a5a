package destination

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// DeadLetter is a request a receiver refused for good.
type DeadLetter struct {
	ID             int64           `json:"id"`
	IdempotencyKey string          `json:"idempotency_key"`
	Items          int             `json:"items"`
	Request        json.RawMessage `json:"request"`
	// Status and Answer are the receiver's last answer (the body clipped
	// to 4 KB).
	Status            int        `json:"status"`
	Answer            string     `json:"answer"`
	CreatedAt         time.Time  `json:"created_at"`
	ReplayRequestedAt *time.Time `json:"replay_requested_at,omitempty"`
	ReplayedAt        *time.Time `json:"replayed_at,omitempty"`
}

// replayOne sends the oldest dead letter asked to be replayed, under its
// own idempotency key: delivered, it is marked replayed; refused again, it
// stays a dead letter with the new answer. It reports whether there was
// one.
func (j *webhookJob) replayOne(ctx context.Context, st *WebhookState) (bool, error) {
	db, id := j.deps.DB, j.def.ID
	var (
		dlID  int64
		key   string
		items int
		body  string
	)
	err := db.QueryRowContext(ctx, db.Query("DestinationDeadLetterNextReplay"), id).Scan(&dlID, &key, &items, &body)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read the dead letters to replay: %w", err)
	}
	out, err := j.send.send(ctx, key, []byte(body))
	if err != nil {
		return false, fmt.Errorf("replay dead letter %d: %w", dlID, err)
	}
	st.Retries += int64(out.Attempts - 1)
	var replayed any // NULL: refused again
	if !out.Refused {
		replayed = j.deps.now()
	}
	if _, err := db.ExecContext(ctx, db.Query("DestinationDeadLetterReplayed"), dlID, id, replayed, out.Status, out.Answer); err != nil {
		return false, fmt.Errorf("record the replay of dead letter %d: %w", dlID, err)
	}
	if out.Refused {
		j.inv.Log.Warn("replayed dead letter refused again", "dead_letter", dlID, "status", out.Status, "answer", out.Answer)
	} else {
		st.Replayed++
		st.Sent += int64(items)
	}
	return true, nil
}
