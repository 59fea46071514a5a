package plugin

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/weftdata/weft/internal/attr"
	"github.com/weftdata/weft/internal/store"
)

// WriteDataset streams the dataset of a data URL as JSON: metadata.columns
// then data, one row per live customer entity in the range, ordered by
// random; a report's, the report document (writeReport). Memory stays
// bounded: rows go out as they are read.
func (s *Service) WriteDataset(ctx context.Context, t Token, rg Range, out io.Writer) (int64, error) {
	d, err := s.DatasetGet(ctx, t.Run, t.Scope)
	if err != nil {
		return 0, err
	}
	if d.Report != nil { // the range parameters select users: a report has none
		return writeReport(ctx, s.db, d, out)
	}
	return writeDataset(ctx, s.db, t.Run, d, rg, out)
}

func writeDataset(ctx context.Context, db store.Executor, run string, d *Dataset, rg Range, out io.Writer) (int64, error) {
	query, args := datasetQuery(run, d)
	args[1], args[2] = rg.Start, rg.End
	if rg.End >= 1 {
		args[2] = 2.0 // random < 1 always; 1 itself would be excluded by nothing
	}
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return 0, fmt.Errorf("read dataset %s: %w", d.Key, err)
	}
	defer rows.Close()

	w := bufio.NewWriterSize(out, 64<<10)
	w.WriteString(`{"metadata":{"columns":[`)
	for i, c := range FixedColumns {
		if i > 0 {
			w.WriteByte(',')
		}
		writeString(w, c)
	}
	for _, f := range d.Features {
		w.WriteByte(',')
		writeString(w, f.Column)
	}
	w.WriteString(`]},"data":[`)

	now := d.Now.UTC().Format(time.RFC3339)
	var (
		id       string
		created  time.Time
		random   float64
		base     time.Time
		moment   time.Time
		goalAt   sql.NullTime
		goalVal  sql.NullString
		attrGoal = d.Goal != nil && d.Goal.Attribute != ""
		vals     = make([]sql.NullString, len(d.Features))
		dest     = append([]any{&id, &created, &random, &base, &moment, &goalAt, &goalVal}, make([]any, len(d.Features))...)
		n        int64
		num      []byte
	)
	for i := range vals {
		dest[7+i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return n, fmt.Errorf("read dataset %s: %w", d.Key, err)
		}
		if n > 0 {
			w.WriteByte(',')
		}
		n++
		createdS := created.UTC().Format(time.RFC3339)
		w.WriteByte('[')
		writeString(w, id)
		w.WriteByte(',')
		writeString(w, createdS)
		w.WriteByte(',')
		writeString(w, now)
		if attrGoal {
			if d.Goal.Met(goalVal) {
				w.WriteString(`,"true",null`)
			} else {
				w.WriteString(`,"false",null`)
			}
		} else if goalAt.Valid {
			w.WriteString(`,"true",`)
			writeString(w, goalAt.Time.UTC().Format(time.RFC3339))
		} else {
			w.WriteString(`,"false",null`)
		}
		w.WriteByte(',')
		num = strconv.AppendFloat(num[:0], random, 'g', -1, 64)
		w.Write(num)
		w.WriteByte(',')
		writeString(w, d.Key)
		w.WriteByte(',')
		writeString(w, base.UTC().Format(time.RFC3339))
		w.WriteByte(',')
		writeString(w, moment.UTC().Format(time.RFC3339))
		for i, f := range d.Features {
			w.WriteByte(',')
			writeFeature(w, f, vals[i])
		}
		w.WriteByte(']')
	}
	if err := rows.Err(); err != nil {
		return n, fmt.Errorf("read dataset %s: %w", d.Key, err)
	}
	w.WriteString("]}\n")
	return n, w.Flush()
}

// writeFeature writes a feature value typed by its attribute's data type;
// property values are JSON already.
func writeFeature(w *bufio.Writer, f Feature, v sql.NullString) {
	switch {
	case !v.Valid:
		w.WriteString("null")
	case f.Property != "":
		w.WriteString(v.String)
	case f.Multiple:
		w.WriteByte('[')
		for i, part := range strings.Split(v.String, "\x1f") {
			if i > 0 {
				w.WriteByte(',')
			}
			writeAttrValue(w, f.DataType, part)
		}
		w.WriteByte(']')
	default:
		writeAttrValue(w, f.DataType, v.String)
	}
}

func writeAttrValue(w *bufio.Writer, dataType, v string) {
	switch dataType {
	case attr.DataInt, attr.DataFloat:
		if _, err := strconv.ParseFloat(v, 64); err == nil && !strings.ContainsAny(v, "nNiI") {
			w.WriteString(v)
			return
		}
	case attr.DataBool:
		if b, err := strconv.ParseBool(v); err == nil {
			w.WriteString(strconv.FormatBool(b))
			return
		}
	case attr.DataDatetime:
		if s, ok := attr.JSONValueOf(dataType, v).(string); ok {
			v = s
		}
	}
	writeString(w, v)
}

// writeString writes s as a JSON string.
func writeString(w *bufio.Writer, s string) {
	w.WriteByte('"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r != utf8.RuneError || size != 1 {
				i += size
				continue
			}
		}
		w.WriteString(s[start:i])
		switch c {
		case '"':
			w.WriteString(`\"`)
		case '\\':
			w.WriteString(`\\`)
		case '\n':
			w.WriteString(`\n`)
		case '\t':
			w.WriteString(`\t`)
		case '\r':
			w.WriteString(`\r`)
		default:
			if c >= utf8.RuneSelf {
				w.WriteString(`\ufffd`)
			} else {
				fmt.Fprintf(w, `\u%04x`, c)
			}
		}
		i++
		start = i
	}
	w.WriteString(s[start:])
	w.WriteByte('"')
}
