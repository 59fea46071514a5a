package blobimport

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
)

// record is one record of a file: raw JSON (json and ndjson) or the
// columns of a CSV row, nested where a column name has dots.
type record struct {
	line int
	raw  json.RawMessage
	cols map[string]any
}

// rowError is a record that is skipped; the file goes on after it.
type rowError struct {
	line   int
	reason string
}

func (e *rowError) Error() string { return fmt.Sprintf("line %d: %s", e.line, e.reason) }

// decoder yields a file's records. next returns io.EOF after the last one,
// a *rowError for a record to skip, and any other error when the rest of
// the file cannot be read.
type decoder interface {
	next() (record, error)
}

// maxLine is the longest NDJSON line or CSV row read; a longer NDJSON
// line is a bad row.
const maxLine = 64 << 20

func newDecoder(r io.Reader, format Format) decoder {
	br := bufio.NewReaderSize(r, 1<<20)
	if b, err := br.Peek(3); err == nil && bytes.Equal(b, []byte("\xef\xbb\xbf")) {
		br.Discard(3) // a UTF-8 byte order mark
	}
	switch format {
	case FormatJSON:
		lc := &lineCounter{r: br}
		d := json.NewDecoder(lc)
		return &jsonDecoder{dec: d, lines: lc}
	case FormatCSV:
		c := csv.NewReader(br)
		return &csvDecoder{r: c}
	}
	return &ndjsonDecoder{r: br}
}

// ndjsonDecoder reads one record per line, copying lines into large
// shared chunks so that a batch of records costs a few allocations.
type ndjsonDecoder struct {
	r     *bufio.Reader
	line  int
	arena []byte
	long  []byte
}

func (d *ndjsonDecoder) next() (record, error) {
	for {
		data, err := d.r.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			data, err = d.readLong(data)
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return record{}, err
		}
		if len(data) == 0 && err != nil {
			return record{}, io.EOF
		}
		d.line++
		if len(data) > maxLine {
			return record{}, &rowError{d.line, fmt.Sprintf("line is longer than %d MiB", maxLine>>20)}
		}
		data = bytes.TrimSpace(data)
		if len(data) == 0 {
			continue
		}
		if len(data) > cap(d.arena)-len(d.arena) {
			d.arena = make([]byte, 0, max(1<<20, len(data)))
		}
		start := len(d.arena)
		d.arena = append(d.arena, data...)
		return record{line: d.line, raw: d.arena[start:len(d.arena):len(d.arena)]}, nil
	}
}

// readLong reads the rest of a line longer than the buffer, keeping at
// most maxLine+1 bytes of it.
func (d *ndjsonDecoder) readLong(first []byte) ([]byte, error) {
	d.long = append(d.long[:0], first...)
	for {
		more, err := d.r.ReadSlice('\n')
		if len(d.long) <= maxLine {
			d.long = append(d.long, more...)
		}
		if !errors.Is(err, bufio.ErrBufferFull) {
			return d.long, err
		}
	}
}

// jsonDecoder reads the elements of one JSON array. A syntax error ends
// the file: nothing after it can be trusted.
type jsonDecoder struct {
	dec     *json.Decoder
	lines   *lineCounter
	started bool
	done    bool
}

func (d *jsonDecoder) next() (record, error) {
	if d.done {
		return record{}, io.EOF
	}
	if !d.started {
		d.started = true
		tok, err := d.dec.Token()
		if errors.Is(err, io.EOF) {
			d.done = true
			return record{}, io.EOF // an empty file holds no records
		}
		if err != nil {
			return record{}, d.syntax(err)
		}
		if delim, ok := tok.(json.Delim); !ok || delim != '[' {
			return record{}, fmt.Errorf("line 1: the file is not a JSON array")
		}
	}
	if !d.dec.More() {
		d.done = true
		if _, err := d.dec.Token(); err != nil { // the closing bracket
			return record{}, d.syntax(err)
		}
		if _, err := d.dec.Token(); !errors.Is(err, io.EOF) {
			return record{}, fmt.Errorf("line %d: data after the closing bracket of the array", d.lines.lineAt(d.dec.InputOffset()))
		}
		return record{}, io.EOF
	}
	var raw json.RawMessage
	if err := d.dec.Decode(&raw); err != nil {
		return record{}, d.syntax(err)
	}
	end := d.lines.lineAt(d.dec.InputOffset())
	return record{line: end - bytes.Count(raw, []byte{'\n'}), raw: raw}, nil
}

func (d *jsonDecoder) syntax(err error) error {
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return errors.New("the JSON array is cut short")
	}
	var se *json.SyntaxError
	if !errors.As(err, &se) {
		return err
	}
	// The error's offset does not count what Token read, so find the
	// error again by decoding what is left of the value that failed.
	start := d.dec.InputOffset()
	line := d.lines.lineAt(start)
	rest, _ := io.ReadAll(d.dec.Buffered())
	i := 0
	for i < len(rest) && (rest[i] == ',' || rest[i] == ' ' || rest[i] == '\t' || rest[i] == '\r' || rest[i] == '\n') {
		i++
	}
	end := i
	var raw json.RawMessage
	if err := json.NewDecoder(bytes.NewReader(rest[i:])).Decode(&raw); errors.As(err, &se) {
		end = min(len(rest), i+max(int(se.Offset)-1, 0))
	}
	line += bytes.Count(rest[:end], []byte{'\n'})
	return fmt.Errorf("line %d: invalid JSON: %w", line, err)
}

// lineCounter notes where the newlines are in what it reads, so that a
// byte offset can be turned into a line number. Offsets must be asked in
// increasing order; newlines behind the last one asked are forgotten.
type lineCounter struct {
	r      io.Reader
	read   int64
	nl     []int64
	passed int
}

func (c *lineCounter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	for i := 0; i < n; {
		j := bytes.IndexByte(p[i:n], '\n')
		if j < 0 {
			break
		}
		c.nl = append(c.nl, c.read+int64(i+j))
		i += j + 1
	}
	c.read += int64(n)
	return n, err
}

// lineAt returns the line (from 1) of the byte at offset off.
func (c *lineCounter) lineAt(off int64) int {
	i := 0
	for i < len(c.nl) && c.nl[i] < off {
		i++
	}
	c.passed += i
	c.nl = c.nl[i:]
	return c.passed + 1
}

// csvDecoder reads rows under a header row. A row with the wrong number
// of fields or bad quoting is a bad row; reading goes on at the next.
type csvDecoder struct {
	r      *csv.Reader
	header [][]string // column names split at dots
	done   bool
}

func (d *csvDecoder) next() (record, error) {
	if d.done {
		return record{}, io.EOF
	}
	if d.header == nil {
		names, err := d.r.Read()
		if errors.Is(err, io.EOF) {
			d.done = true
			return record{}, io.EOF
		}
		if err != nil {
			return record{}, fmt.Errorf("header row: %w", err)
		}
		seen := map[string]bool{}
		for i, name := range names {
			name = strings.TrimSpace(name)
			if name == "" {
				return record{}, fmt.Errorf("header row: column %d has no name", i+1)
			}
			if seen[name] {
				return record{}, fmt.Errorf("header row: column %q appears twice", name)
			}
			seen[name] = true
			path := strings.Split(name, ".")
			if slices.Contains(path, "") {
				return record{}, fmt.Errorf("header row: column %q has an empty part between dots", name)
			}
			d.header = append(d.header, path)
		}
		for _, a := range names {
			for _, b := range names {
				if a, b = strings.TrimSpace(a), strings.TrimSpace(b); strings.HasPrefix(b, a+".") {
					return record{}, fmt.Errorf("header row: column %q cannot hold both a value and column %q", a, b)
				}
			}
		}
	}
	row, err := d.r.Read()
	if errors.Is(err, io.EOF) {
		d.done = true
		return record{}, io.EOF
	}
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		reason := pe.Err.Error()
		if errors.Is(pe.Err, csv.ErrFieldCount) {
			reason = fmt.Sprintf("%d fields, the header has %d", len(row), len(d.header))
		}
		return record{}, &rowError{pe.StartLine, reason}
	}
	if err != nil {
		return record{}, err
	}
	line, _ := d.r.FieldPos(0)
	cols := make(map[string]any, len(row))
	for i, v := range row {
		setPath(cols, d.header[i], v)
	}
	return record{line: line, cols: cols}, nil
}
