package fileexport

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"time"
)

// extensions and content types of the formats.
var (
	extensions   = map[string]string{FormatCSV: "csv", FormatNDJSON: "ndjson", FormatParquet: "parquet"}
	contentTypes = map[string]string{FormatCSV: "text/csv", FormatNDJSON: "application/x-ndjson", FormatParquet: "application/vnd.apache.parquet"}
)

// newEncoder returns the encoder of a format writing to w.
func newEncoder(format string, s *spec, w io.Writer) (encoder, error) {
	switch format {
	case FormatCSV:
		return newCSV(s, w)
	case FormatNDJSON:
		return &ndjsonEncoder{s: s, enc: newJSONEncoder(w)}, nil
	case FormatParquet:
		return newParquet(s, w)
	}
	return nil, fmt.Errorf("unknown format %q", format)
}

func newJSONEncoder(w io.Writer) *json.Encoder {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc
}

// csvEncoder writes a header row and a row per record, RFC 4180 quoted
// (encoding/csv; lines end in \n, which RFC 4180 readers accept).
type csvEncoder struct {
	s     *spec
	w     *csv.Writer
	cells []string
}

func newCSV(s *spec, w io.Writer) (*csvEncoder, error) {
	e := &csvEncoder{s: s, w: csv.NewWriter(w)}
	header := []string{"entity_id"}
	if s.changes {
		header = append(header, "change", "changed_at")
	}
	for _, c := range s.cols {
		header = append(header, c.group+"."+c.name)
	}
	e.cells = make([]string, len(header))
	return e, e.w.Write(header)
}

func (e *csvEncoder) write(r *record) error {
	cells := append(e.cells[:0], r.entityID)
	if e.s.changes {
		cells = append(cells, r.change, r.changedAt.Format(time.RFC3339Nano))
	}
	for i := range e.s.cols {
		cell, err := csvCell(e.s.cols[i].jsonValue(r.values[i]))
		if err != nil {
			return err
		}
		cells = append(cells, cell)
	}
	return e.w.Write(cells)
}

// csvCell is a value as CSV text: text as it is, nothing as an empty
// cell, other values (numbers, booleans, lists) as JSON.
func csvCell(v any) (string, error) {
	switch v := v.(type) {
	case nil:
		return "", nil
	case string:
		return v, nil
	}
	b, err := json.Marshal(v)
	return string(b), err
}

func (e *csvEncoder) close() error {
	e.w.Flush()
	return e.w.Error()
}

// ndjsonEncoder writes a JSON object per line.
type ndjsonEncoder struct {
	s   *spec
	enc *json.Encoder
}

// ndjsonRecord is a line of NDJSON. Identifiers and attributes are left
// out when none were chosen, and a profile without a value has null.
type ndjsonRecord struct {
	EntityID    string         `json:"entity_id"`
	Change      string         `json:"change,omitempty"`
	ChangedAt   *time.Time     `json:"changed_at,omitempty"`
	Identifiers map[string]any `json:"identifiers,omitempty"`
	Attributes  map[string]any `json:"attributes,omitempty"`
}

func (e *ndjsonEncoder) write(r *record) error {
	out := ndjsonRecord{EntityID: r.entityID, Change: r.change}
	if e.s.changes {
		out.ChangedAt = &r.changedAt
	}
	for i := range e.s.cols {
		c := &e.s.cols[i]
		m := &out.Attributes
		if c.group == groupIdentifiers {
			m = &out.Identifiers
		}
		if *m == nil {
			*m = make(map[string]any, len(e.s.cols))
		}
		(*m)[c.name] = c.jsonValue(r.values[i])
	}
	return e.enc.Encode(&out)
}

func (e *ndjsonEncoder) close() error { return nil }
