package event

import (
	"context"
	"encoding/json"

	"github.com/weftdata/weft/job"
)

// Writer is the job.Events of the job runtime: it appends through an
// Ingester, as POST /v1/events does.
type Writer struct {
	In *Ingester
	// Appended is called with the number of new events after each
	// successful append (the server uses it to wake stitching).
	Appended func(n int)
}

var _ job.Events = (*Writer)(nil)

// Append validates and appends records, returning the bad ones.
func (w *Writer) Append(ctx context.Context, records []json.RawMessage) ([]job.Rejection, error) {
	b := &Batch{}
	for i, raw := range records {
		if ValidJSON(raw) {
			b.addRaw(i, raw)
			continue
		}
		b.Records++
		b.reject(&RecordError{Index: i, Reason: "invalid JSON: " + syntaxError(raw).Error()})
	}
	res, err := w.In.Ingest(ctx, b)
	if err != nil {
		return nil, err
	}
	if w.Appended != nil && res.Accepted > 0 {
		w.Appended(res.Accepted)
	}
	out := make([]job.Rejection, len(res.Rejected))
	for i, r := range res.Rejected {
		out[i] = job.Rejection{Index: r.Index, Field: r.Field, Reason: r.Reason}
	}
	return out, nil
}
