package bench

import (
	"encoding/json"
	"regexp"
	"testing"
	"time"
)

// TestSegmentGen checks the batches are what analytics-node sends: its
// envelope, 100 messages of the three kinds with unique messageIds of its
// form, about 700 bytes each, the same message for the same index.
func TestSegmentGen(t *testing.T) {
	g := newSegmentGen(7, `key"1`, time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC))
	ids := map[string]bool{}
	kinds := map[string]int{}
	messageID := regexp.MustCompile(`^node-next-\d{13}-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	var body []byte
	for first := 0; first < 1000; first += 100 {
		body = g.batch(body[:0], first, 100)
		var env struct {
			Batch    []map[string]any `json:"batch"`
			WriteKey string           `json:"writeKey"`
			SentAt   time.Time        `json:"sentAt"`
		}
		if err := json.Unmarshal(body, &env); err != nil {
			t.Fatalf("batch %d: %v\n%s", first, err, body)
		}
		if len(env.Batch) != 100 || env.WriteKey != `key"1` || time.Since(env.SentAt) > time.Minute {
			t.Fatalf("envelope: %d messages, key %q, sentAt %s", len(env.Batch), env.WriteKey, env.SentAt)
		}
		if per := len(body) / 100; per < 500 || per > 1200 {
			t.Errorf("%d bytes a message", per)
		}
		for _, m := range env.Batch {
			id, _ := m["messageId"].(string)
			if !messageID.MatchString(id) || ids[id] {
				t.Fatalf("messageId %q (repeated: %v)", id, ids[id])
			}
			ids[id] = true
			kind, _ := m["type"].(string)
			kinds[kind]++
			_, user := m["userId"].(string)
			_, anon := m["anonymousId"].(string)
			ctx, _ := m["context"].(map[string]any)
			if user == anon || ctx["library"] == nil || m["timestamp"] == nil {
				t.Fatalf("message %v", m)
			}
			if kind == "track" && (m["event"] == "" || m["properties"] == nil) {
				t.Fatalf("track %v", m)
			}
		}
	}
	if kinds["identify"] != 100 || kinds["page"] != 200 || kinds["track"] != 700 {
		t.Errorf("kinds %v", kinds)
	}
	// Another run of the seed, later: the same message but for its time.
	again := newSegmentGen(7, "k", time.Date(2026, 12, 7, 11, 0, 0, 0, time.UTC)).message(nil, 123)
	first := g.message(nil, 123)
	if string(again[len(`{"timestamp":"2026-12-07T11:00:00.000Z"`):]) != string(first[len(`{"timestamp":"2026-12-06T10:00:00.000Z"`):]) {
		t.Errorf("message 123 differs between two runs of one seed:\n%s\n%s", first, again)
	}
	if string(again) == string(newSegmentGen(8, "k", time.Date(2026, 12, 7, 11, 0, 0, 0, time.UTC)).message(nil, 123)) {
		t.Error("message 123 is the same for seeds 7 and 8")
	}
}
