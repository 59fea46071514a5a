package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/weftdata/weft/internal/clip"
	"github.com/weftdata/weft/internal/object"
)

// ObjectBatchMax bounds the records of one POST /v1/objects/{type} (ODP's
// SDK sends at most 100; the request body limit applies too).
const ObjectBatchMax = 10000

// objectsTypes is GET /v1/objects: the declared object types.
func (h *handler) objectsTypes(w http.ResponseWriter, r *http.Request) {
	sch, err := h.pipeline.Objects().Schema(r.Context())
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	types := sch.Types()
	if types == nil {
		types = []object.Type{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"types": types})
}

// objectsUpsert is POST /v1/objects/{type} with a JSON object or an array
// of them. It answers what was stored and the records refused.
func (h *handler) objectsUpsert(w http.ResponseWriter, r *http.Request) {
	res, err := h.upsertObjects(w, r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

func (h *handler) upsertObjects(w http.ResponseWriter, r *http.Request) (*object.UpsertResult, error) {
	typ := r.PathValue("type")
	objects := h.pipeline.Objects()
	sch, err := objects.Schema(r.Context())
	if err != nil {
		return nil, err
	}
	// An unknown type is a 404 before the body is read.
	if _, err := sch.Type(typ); err != nil {
		return nil, err
	}
	body, err := h.readBody(w, r)
	if err != nil {
		return nil, err
	}
	records, err := decodeObjectBatch(body)
	if err != nil {
		return nil, err
	}
	return objects.UpsertJSON(r.Context(), typ, records)
}

// decodeObjectBatch splits a body into records: a JSON array of up to
// ObjectBatchMax of them, or one object.
func decodeObjectBatch(data []byte) ([]json.RawMessage, error) {
	data = bytes.TrimSpace(data)
	switch {
	case len(data) == 0:
		return nil, badRequest("the body is empty: send a JSON object or an array of them")
	case data[0] == '{':
		if !json.Valid(data) {
			return nil, badRequest("the body is not valid JSON: " + jsonSyntaxError(data))
		}
		return []json.RawMessage{data}, nil
	case data[0] != '[':
		return nil, badRequest("the body must be a JSON object or an array of them")
	}
	var records []json.RawMessage
	if err := json.Unmarshal(data, &records); err != nil {
		return nil, badRequest("the body is not valid JSON: " + jsonSyntaxError(data))
	}
	if len(records) > ObjectBatchMax {
		return nil, &Error{http.StatusRequestEntityTooLarge, "batch_too_large",
			fmt.Sprintf("the batch holds %d records, more than the %d allowed per call: split it", len(records), ObjectBatchMax)}
	}
	return records, nil
}

func jsonSyntaxError(data []byte) string {
	var v any
	err := json.Unmarshal(data, &v)
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		return fmt.Sprintf("%v (at byte %d)", syn, syn.Offset)
	}
	if err != nil {
		return err.Error()
	}
	return "unexpected content"
}

// readBody reads the whole request body, within the limits of
// requestBody.
func (h *handler) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	body, err := h.requestBody(w, r)
	if err != nil {
		return nil, err
	}
	defer body.Close()
	return io.ReadAll(body)
}

// objectsPage is a page of GET /v1/objects/{type}.
type objectsPage struct {
	Records     []object.Record `json:"records"`
	HasNextPage bool            `json:"has_next_page"`
	// EndCursor is the after of the next page; null when the page is empty.
	EndCursor *string `json:"end_cursor"`
}

// objectsList is GET /v1/objects/{type}?first=&after=&<primary field>=.
func (h *handler) objectsList(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	first, err := intParam(q.Get("first"), object.FirstDefault, 0, object.FirstMax, "first")
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	p := object.ListParams{First: int(first), After: q.Get("after"), Equal: map[string]string{}}
	for name, vals := range q {
		switch {
		case name == "first" || name == "after":
		case len(vals) != 1:
			h.writeError(w, r, badRequest(fmt.Sprintf("the filter %s is given %d times; give it once", clip.String(name), len(vals))))
			return
		default:
			p.Equal[name] = vals[0]
		}
	}
	page, err := h.pipeline.Objects().List(r.Context(), r.PathValue("type"), p)
	var inErr *object.InputError
	if errors.As(err, &inErr) {
		err = badRequest(inErr.Msg)
	}
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	resp := objectsPage{Records: page.Records, HasNextPage: page.HasNextPage}
	if page.EndCursor != "" {
		resp.EndCursor = &page.EndCursor
	}
	writeJSON(w, http.StatusOK, resp)
}
