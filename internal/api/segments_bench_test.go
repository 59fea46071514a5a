package api_test

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// segmentBenchMembers is the size of the segment paged through, one of
// segmentBenchSegments segments of as many members each.
const (
	segmentBenchMembers  = 100_000
	segmentBenchSegments = 10
)

// BenchmarkSegmentMembers reads every member of a 100k-member segment, a
// page of 1000 at a time, without attributes and with two, over real
// HTTP; the store holds ten such segments (1M memberships). One op is the
// whole segment.
func BenchmarkSegmentMembers(b *testing.B) {
	for _, backend := range backends {
		b.Run(backend, func(b *testing.B) {
			s := newSegmentBenchServer(b, backend)
			for _, attrs := range []string{"", "spend,email_address"} {
				b.Run("attributes="+attrs, func(b *testing.B) {
					for b.Loop() {
						if n := s.allMembers(b, "s0", attrs); n != segmentBenchMembers+1 { // and p1
							b.Fatalf("%d members, want %d", n, segmentBenchMembers+1)
						}
					}
					b.ReportMetric(float64(segmentBenchMembers*b.N)/b.Elapsed().Seconds(), "members/s")
				})
			}
		})
	}
}

// allMembers pages through a segment's members and counts them.
func (s *segmentFixture) allMembers(b *testing.B, segment, attrs string) int {
	n, after := 0, ""
	for {
		r := s.get(b, fmt.Sprintf("/v1/segments/%s/members?limit=1000&attributes=%s&after=%s", segment, attrs, after))
		page := decode[membersAnswer](b, r)
		n += len(page.Members)
		if page.Next == nil {
			return n
		}
		after = *page.Next
	}
}

// BenchmarkProfileSegments reads a profile that is a member of every
// segment (GET /v1/entities/{id}), in a store of 1M memberships.
func BenchmarkProfileSegments(b *testing.B) {
	for _, backend := range backends {
		b.Run(backend, func(b *testing.B) {
			s := newSegmentBenchServer(b, backend)
			id := s.ids["p1"]
			for b.Loop() {
				r := s.get(b, "/v1/entities/"+id)
				if got := decode[struct{ Segments []string }](b, r); len(got.Segments) != segmentBenchSegments+2 {
					b.Fatalf("segments %v: %s", got.Segments, r.body)
				}
			}
		})
	}
}

// newSegmentBenchServer is the fixture of the segment tests with ten more
// segments s0 to s9 of segmentBenchMembers synthetic entities each (ids
// md5 of a number, as stitching makes them), every one with a spend and
// an e-mail value, plus the real entity p1 in every one of them.
func newSegmentBenchServer(b *testing.B, backend string) *segmentFixture {
	b.Helper()
	yaml := segmentsYAML
	for i := range segmentBenchSegments {
		yaml += fmt.Sprintf("  - {id: s%d, condition: {attribute: spend, op: \">\", value: %d}}\n", i, i)
	}
	s := newSegmentFixtureYAML(b, backend, yaml)
	ctx := context.Background()
	start := time.Now()
	for _, q := range []string{
		`INSERT INTO segment_members (segment_id, entity_id, entered_at)
			SELECT 's' || CAST(g % 10 AS TEXT), md5(CAST(CAST(floor(g / 10) AS BIGINT) AS TEXT)), CURRENT_TIMESTAMP
			FROM generate_series(0, 999999) AS t(g)`,
		`INSERT INTO customer_attributes (entity_id, attribute_id, value, calculated_at)
			SELECT md5(CAST(g AS TEXT)), 'spend', CAST(g % 1000 AS TEXT), CURRENT_TIMESTAMP FROM generate_series(0, 99999) AS t(g)
			UNION ALL
			SELECT md5(CAST(g AS TEXT)), 'email_address', 'user' || CAST(g AS TEXT) || '@example.com', CURRENT_TIMESTAMP FROM generate_series(0, 99999) AS t(g)`,
	} {
		if _, err := s.store.ExecContext(ctx, q); err != nil {
			b.Fatal(err)
		}
	}
	for i := range segmentBenchSegments {
		if _, err := s.store.ExecContext(ctx, `INSERT INTO segment_members VALUES ($1, $2, CURRENT_TIMESTAMP)`, fmt.Sprintf("s%d", i), s.ids["p1"]); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := s.store.ExecContext(ctx, "ANALYZE"); err != nil {
		b.Fatal(err)
	}
	b.Logf("%s: 1M memberships loaded in %s", backend, time.Since(start).Round(time.Millisecond))
	b.ResetTimer()
	return s
}

// get is a GET that must answer 200.
func (s *segmentFixture) get(b *testing.B, path string) response {
	b.Helper()
	r := s.do(b, "GET", path, nil, nil)
	if r.status != 200 {
		b.Fatalf("GET %s: %d %s", path, r.status, r.body)
	}
	return r
}
