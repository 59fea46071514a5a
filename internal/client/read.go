package client

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"iter"

	"github.com/weftdata/weft/internal/event"
)

// ReadRecords yields the records of an NDJSON or JSON-array input, told
// apart by its first non-blank byte. Records are passed on as they are; the
// server validates them. Memory stays bounded by the largest record.
func ReadRecords(r io.Reader, name string) iter.Seq2[Record, error] {
	return func(yield func(Record, error) bool) {
		br := bufio.NewReaderSize(r, 1<<20)
		if event.Sniff(br) == event.FormatJSON {
			readArray(br, name, yield)
			return
		}
		readLines(br, name, yield)
	}
}

func readLines(br *bufio.Reader, name string, yield func(Record, error) bool) {
	for line := 1; ; line++ {
		data, err := br.ReadBytes('\n')
		if t := bytes.TrimSpace(data); len(t) > 0 {
			if !yield(Record{Data: t, Origin: Origin{File: name, Line: line}}, nil) {
				return
			}
		}
		if err == io.EOF {
			return
		}
		if err != nil {
			yield(Record{}, fmt.Errorf("%s:%d: %w", name, line, err))
			return
		}
	}
}

func readArray(br *bufio.Reader, name string, yield func(Record, error) bool) {
	dec := json.NewDecoder(br)
	if _, err := dec.Token(); err != nil {
		yield(Record{}, fmt.Errorf("%s: %w", name, err))
		return
	}
	for i := 0; dec.More(); i++ {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			yield(Record{}, fmt.Errorf("%s: element %d: %w", name, i, err))
			return
		}
		var buf bytes.Buffer
		if err := json.Compact(&buf, raw); err != nil {
			yield(Record{}, fmt.Errorf("%s: element %d: %w", name, i, err))
			return
		}
		if !yield(Record{Data: buf.Bytes(), Origin: Origin{File: name, Element: i}}, nil) {
			return
		}
	}
	if _, err := dec.Token(); err != nil {
		yield(Record{}, fmt.Errorf("%s: unterminated JSON array: %w", name, err))
	}
}
