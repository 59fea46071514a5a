package event

import (
	"strings"
	"testing"
	"time"
)

// An event_time in epoch seconds is refused with a message saying so; the
// records beside it are kept, and millisecond times stay as they were.
func TestEpochSecondsRefused(t *testing.T) {
	rec := func(at string) string {
		return `{"source_id":"web","type":"page_view","version":"1-0-0","event_time":` + at + `,"payload":{}}`
	}
	body := strings.Join([]string{
		rec("1767323045123"), // milliseconds: kept
		rec("1767323045"),    // seconds
		rec(`"2026-01-02T03:04:05Z"`),
		rec("1767323045.5"), // fractional seconds
		rec("-86400"),       // seconds before 1970
		rec("100000000000"), // 1e11 ms, 1973: kept
		rec("0"),
	}, "\n")
	b, err := Decode(strings.NewReader(body), FormatNDJSON)
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Events) != 3 || b.Index[0] != 0 || b.Index[1] != 2 || b.Index[2] != 5 {
		t.Fatalf("kept %v, want records 0, 2 and 5", b.Index)
	}
	if got := b.Events[0].EventTime; !got.Equal(time.UnixMilli(1767323045123)) {
		t.Errorf("milliseconds read as %v", got)
	}
	want := map[int]string{
		1: "event_time: 1767323045 looks like epoch seconds (2026-01-02T03:04:05Z); event_time takes epoch milliseconds (1767323045000) or an RFC 3339 string",
		3: "event_time: 1767323045.5 looks like epoch seconds",
		4: "event_time: -86400 looks like epoch seconds (1969-12-31T00:00:00Z)",
		6: "event_time: 0 looks like epoch seconds (1970-01-01T00:00:00Z)",
	}
	if len(b.Rejected) != len(want) {
		t.Fatalf("rejected %v", b.Rejected)
	}
	for _, r := range b.Rejected {
		if w := want[r.Index]; w == "" || !strings.Contains(r.Error(), w) {
			t.Errorf("record %d: %q, want %q", r.Index, r.Error(), w)
		}
	}
}
