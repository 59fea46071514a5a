package privacy

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/weftdata/weft/internal/erasure"
	"github.com/weftdata/weft/internal/store"
)

// record is a row of privacy_requests.
type record struct {
	ID, Type, Status, Notified string
	Identities                 []Identity
	CallbackURLs               []string
	// Live are the live entities the identities resolved to when the
	// request started, All those with every entity merged into them; nil
	// while pending.
	Live, All []string
	Result    *Result
	Error     string
	Submitted time.Time
	Received  time.Time
	Expected  time.Time
	Updated   time.Time
	Completed *time.Time
}

// Result is what a request found and did.
type Result struct {
	// EntitiesFound counts the live entities the identities resolved to;
	// Entities counts them with the entities merged into them.
	EntitiesFound int `json:"entities_found"`
	Entities      int `json:"entities"`
	// Erased is what an erasure deleted.
	Erased *erasure.Result `json:"erased,omitempty"`
	// Events counts the events an export holds.
	Events *int64 `json:"events,omitempty"`
}

func insertRecord(ctx context.Context, db store.Executor, req *Request, received, expected time.Time) error {
	ids, _ := json.Marshal(req.SubjectIdentities)
	urls, _ := json.Marshal(orEmpty(req.StatusCallbackURLs))
	ext, _ := json.Marshal(req.Extensions)
	submitted, _ := time.Parse(time.RFC3339, req.SubmittedTime)
	res, err := db.ExecContext(ctx, db.Query("PrivacyRequestInsert"), req.SubjectRequestID, req.SubjectRequestType,
		string(ids), string(urls), string(ext), submitted.UTC(), received, expected)
	if err != nil {
		return fmt.Errorf("store privacy request: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return ErrDuplicate
	}
	return nil
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// getRecord reads a request; store.ErrNotFound when there is none.
func getRecord(ctx context.Context, db store.Executor, id string) (*record, error) {
	var (
		r                         record
		ids, urls                 string
		entities, result, errText sql.NullString
		completed                 sql.NullTime
	)
	err := db.QueryRowContext(ctx, db.Query("PrivacyRequestGet"), id).Scan(&r.ID, &r.Type, &r.Status, &r.Notified,
		&ids, &urls, &entities, &result, &errText, &r.Submitted, &r.Received, &r.Expected, &r.Updated, &completed)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, store.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read privacy request %s: %w", id, err)
	}
	if err := json.Unmarshal([]byte(ids), &r.Identities); err != nil {
		return nil, fmt.Errorf("privacy request %s: identities: %w", id, err)
	}
	if err := json.Unmarshal([]byte(urls), &r.CallbackURLs); err != nil {
		return nil, fmt.Errorf("privacy request %s: callback urls: %w", id, err)
	}
	if entities.Valid {
		var el entityList
		if err := json.Unmarshal([]byte(entities.String), &el); err != nil {
			return nil, fmt.Errorf("privacy request %s: entities: %w", id, err)
		}
		r.Live, r.All = orEmpty(el.Live), orEmpty(el.All)
	}
	if result.Valid {
		r.Result = new(Result)
		if err := json.Unmarshal([]byte(result.String), r.Result); err != nil {
			return nil, fmt.Errorf("privacy request %s: result: %w", id, err)
		}
	}
	r.Error = errText.String
	r.Submitted, r.Received, r.Expected, r.Updated = r.Submitted.UTC(), r.Received.UTC(), r.Expected.UTC(), r.Updated.UTC()
	if completed.Valid {
		t := completed.Time.UTC()
		r.Completed = &t
	}
	return &r, nil
}

// nextRecord is the oldest request with work left, leaving out those of
// skip; store.ErrNotFound when none has.
func nextRecord(ctx context.Context, db store.Executor, skip map[string]error) (*record, error) {
	var ids []string
	err := eachRow(ctx, db, db.Query("PrivacyRequestNext"), func(rows *sql.Rows) error {
		var id string
		err := rows.Scan(&id)
		ids = append(ids, id)
		return err
	}, len(skip)+1)
	if err != nil {
		return nil, fmt.Errorf("find the next privacy request: %w", err)
	}
	for _, id := range ids {
		if _, skipped := skip[id]; !skipped {
			return getRecord(ctx, db, id)
		}
	}
	return nil, store.ErrNotFound
}

// exec runs an update of one request and says whether it changed a row.
func exec(ctx context.Context, db store.Executor, query string, args ...any) (bool, error) {
	res, err := db.ExecContext(ctx, query, args...)
	if err != nil {
		return false, fmt.Errorf("privacy request %v: %w", args[0], err)
	}
	n, err := res.RowsAffected()
	return n > 0, err
}
