package event

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/weftdata/weft/internal/clip"
	"github.com/weftdata/weft/internal/store"
)

// Format is how a request body holds its records.
type Format int

const (
	// FormatAuto looks at the first non-blank byte: '[' is a JSON array,
	// anything else NDJSON.
	FormatAuto Format = iota
	// FormatJSON is one JSON array of records.
	FormatJSON
	// FormatNDJSON is one record per line.
	FormatNDJSON
)

// ErrNotJSON wraps errors for bodies that are neither a JSON array nor
// NDJSON at all, so that no record can be read from them.
var ErrNotJSON = errors.New("body is not a JSON array or NDJSON")

// Batch is a decoded request: the good events, in order, with their
// positions, and the rejected records.
type Batch struct {
	Events   []store.EventInsert
	Index    []int // Index[i] is the request position of Events[i]
	Rejected []*RecordError
	// Records counts every record read, good or bad.
	Records int
}

// addRaw parses and validates one record whose JSON syntax is known good.
func (b *Batch) addRaw(index int, data []byte) {
	b.Records++
	w, rerr := parseRecord(index, data)
	if rerr != nil {
		b.reject(rerr)
		return
	}
	b.add(index, w)
}

func (b *Batch) add(index int, w *wireRecord) {
	e, rerr := w.validate(index)
	if rerr != nil {
		b.Rejected = append(b.Rejected, rerr)
		return
	}
	b.Events = append(b.Events, e)
	b.Index = append(b.Index, index)
}

func (b *Batch) reject(rerr *RecordError) { b.Rejected = append(b.Rejected, rerr) }

// Decode reads every record of a body. A record that is bad on its own is
// rejected and decoding goes on; only a body that cannot be read as records
// at all returns an error (wrapping ErrNotJSON), as does a failing reader
// (such as one that hit its size limit).
func Decode(r io.Reader, format Format) (*Batch, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	if format == FormatAuto {
		format = Sniff(br)
	}
	if format == FormatJSON {
		return decodeArray(br)
	}
	return decodeNDJSON(br)
}

// Sniff tells a JSON array from NDJSON by the first non-blank byte ('['
// is an array), consuming only the blanks before it.
func Sniff(br *bufio.Reader) Format {
	for {
		c, err := br.ReadByte()
		if err != nil {
			return FormatNDJSON
		}
		if c != ' ' && c != '\t' && c != '\r' && c != '\n' {
			_ = br.UnreadByte()
			if c == '[' {
				return FormatJSON
			}
			return FormatNDJSON
		}
	}
}

func decodeArray(r io.Reader) (*Batch, error) {
	dec := json.NewDecoder(fullReader{r})
	tok, err := dec.Token()
	if err != nil {
		return nil, readErr(err, "expected a JSON array")
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		return nil, fmt.Errorf("%w: expected a JSON array, got %s", ErrNotJSON, clip.String(fmt.Sprint(tok)))
	}
	b := &Batch{}
	var raw json.RawMessage
	for i := 0; dec.More(); i++ {
		if err := dec.Decode(&raw); err != nil {
			return nil, readErr(err, fmt.Sprintf("record %d", i))
		}
		b.addRaw(i, raw)
	}
	if _, err := dec.Token(); err != nil {
		return nil, readErr(err, "unterminated JSON array")
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: data after the JSON array", ErrNotJSON)
	}
	return b, nil
}

// fullReader fills each buffer it is given, unless the body ends first.
// json.Decoder skips the blanks between tokens without consuming them: each
// refill rescans every blank since the last token, and it refills with what
// one Read returns (32 KiB at most from a gzip reader), so an array of
// blank space decoded in quadratic time (80 MiB of spaces: 50 s). Filled
// buffers double at each refill, and the rescans add up to twice the blanks.
type fullReader struct{ r io.Reader }

func (f fullReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		m, err := f.r.Read(p[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// NDJSONLineMax bounds one NDJSON line; the request size limit usually
// bites first.
const NDJSONLineMax = 64 << 20

func decodeNDJSON(r *bufio.Reader) (*Batch, error) {
	b := &Batch{}
	syntaxOnly := true // every line so far was not JSON at all
	var firstErr error
	var line []byte
	for index := 0; ; {
		chunk, err := r.ReadSlice('\n')
		line = append(line[:0], chunk...)
		for errors.Is(err, bufio.ErrBufferFull) {
			if len(line) > NDJSONLineMax {
				return nil, fmt.Errorf("%w: line of record %d is longer than %d bytes", ErrNotJSON, index, NDJSONLineMax)
			}
			chunk, err = r.ReadSlice('\n')
			line = append(line, chunk...)
		}
		if err != nil && err != io.EOF {
			return nil, err
		}
		if trimmed := bytes.TrimSpace(line); len(trimmed) > 0 {
			if ValidJSON(trimmed) {
				syntaxOnly = false
				b.addRaw(index, trimmed)
			} else {
				derr := syntaxError(trimmed)
				if firstErr == nil {
					firstErr = fmt.Errorf("line of record %d: %v", index, derr)
				}
				b.reject(&RecordError{Index: index, Reason: "invalid JSON: " + derr.Error()})
				b.Records++
			}
			index++
		}
		if err == io.EOF {
			break
		}
	}
	if b.Records == 0 {
		return nil, fmt.Errorf("%w: the body is empty", ErrNotJSON)
	}
	if syntaxOnly {
		return nil, fmt.Errorf("%w: %v", ErrNotJSON, firstErr)
	}
	return b, nil
}

// syntaxError explains why a line is not one JSON value.
func syntaxError(line []byte) error {
	var v any
	if err := json.Unmarshal(line, &v); err != nil {
		return errors.New(strings.TrimPrefix(err.Error(), "json: "))
	}
	return errors.New("more than one JSON value on the line")
}

func isSyntax(err error) bool {
	var se *json.SyntaxError
	return errors.As(err, &se) || errors.Is(err, io.ErrUnexpectedEOF)
}

// readErr keeps reader failures (size limits) as they are and marks JSON
// failures as ErrNotJSON.
func readErr(err error, what string) error {
	if isSyntax(err) || err == io.EOF {
		return fmt.Errorf("%w: %s: %v", ErrNotJSON, what, err)
	}
	return err
}
