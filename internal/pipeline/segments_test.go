package pipeline

import (
	"context"
	"testing"
	"time"

	"github.com/weftdata/weft/internal/segment"
	"github.com/weftdata/weft/internal/store/dbtest"
	"github.com/weftdata/weft/internal/worked"
	"github.com/weftdata/weft/job"
)

// TestSegmentsJob: with segments declared, an attribute run asks for a
// segments run; the job computes the members, asks the webhooks of
// segments for a run, and stitching gives the membership events to their
// entities.
func TestSegmentsJob(t *testing.T) {
	for _, backend := range dbtest.Backends {
		t.Run(backend, func(t *testing.T) {
			p, db := newPipeline(t, backend)
			ctx := context.Background()
			doc := worked.Config + `segments:
  - {id: buyers, condition: {attribute: eshop_revenue_sum, op: ">", value: 0}}
  - {id: others, condition: {not: {segment: buyers}}}
destinations:
  - {id: crm, type: webhook, url: "http://127.0.0.1:9/hook", segments: [buyers], secret: k}
  - {id: changed, type: webhook, url: "http://127.0.0.1:9/hook", attributes: [eshop_revenue_sum], secret: k}
`
			if _, err := p.Apply(ctx, []byte(doc)); err != nil {
				t.Fatal(err)
			}
			s := p.start(t, StitchingJob)
			s.mustPerform(s.mustPrepare(`{}`, nil))
			s = p.start(t, AttributesJob)
			s.mustPerform(s.mustPrepare(`{}`, nil))
			if n := pendingRuns(t, db, SegmentsJob); n != 1 {
				t.Fatalf("%d segments runs waiting after an attribute run, want 1", n)
			}
			s = p.start(t, SegmentsJob)
			st := s.mustPerform(s.mustPrepare(`{}`, nil))
			res, err := job.StateOf[segment.RunResult](st)
			if err != nil || !st.Complete || len(res.Segments) != 2 {
				t.Fatalf("after Perform: %s (%v)", st.State, err)
			}
			var size int64
			for _, sr := range res.Segments {
				if sr.Status != "ok" || !sr.Full || sr.Size == 0 {
					t.Errorf("%+v", sr)
				}
				size += sr.Size
			}
			if size != 3 {
				t.Errorf("the two segments hold %d entities, want all 3", size)
			}
			if n := pendingRuns(t, db, "destination:crm"); n != 1 {
				t.Errorf("%d runs of the webhook of segments waiting after memberships changed, want 1", n)
			}
			if n := pendingRuns(t, db, "destination:changed"); n != 0 {
				t.Errorf("%d runs of the webhook of changed profiles waiting, want 0 (it runs on its schedule)", n)
			}
			s = p.start(t, StitchingJob)
			s.mustPerform(s.mustPrepare(`{}`, nil))
			var mapped int
			err = db.QueryRowContext(ctx, `SELECT count(*) FROM customer_events
				WHERE source_id = 'weft' AND customer_entity_id = (payload->>'entity_id')`).Scan(&mapped)
			// An entity without identifiers gets no events.
			var identified int
			if err := db.QueryRowContext(ctx, "SELECT count(DISTINCT entity_id) FROM identifiers").Scan(&identified); err != nil {
				t.Fatal(err)
			}
			if err != nil || mapped != identified || mapped == 0 {
				t.Fatalf("%d membership events on their entities, want %d (%v)", mapped, identified, err)
			}
			if _, err := s.prepare(`{"segments": "buyers"}`, nil); err == nil {
				t.Error("bad parameters accepted")
			}
		})
	}
}

// TestSegmentFieldsLoop: the background copy of payload fields runs at
// start, and a negative interval turns it off.
func TestSegmentFieldsLoop(t *testing.T) {
	for _, backend := range dbtest.Backends {
		t.Run(backend, func(t *testing.T) {
			p, db := newPipeline(t, backend)
			if !db.Capabilities().PayloadFields() {
				t.Skip("no copy of payload fields on this backend")
			}
			copied := func() int {
				var n int
				if err := db.QueryRowContext(context.Background(), "SELECT count(*) FROM segment_event_fields").Scan(&n); err != nil {
					t.Fatal(err)
				}
				return n
			}
			p.opts.SegmentFieldsInterval = -1
			p.keepSegmentFields(context.Background()) // returns at once
			if n := copied(); n != 0 {
				t.Fatalf("%d events copied with the loop off", n)
			}
			p.opts.SegmentFieldsInterval = time.Hour
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() {
				defer close(done)
				p.keepSegmentFields(ctx)
			}()
			deadline := time.Now().Add(30 * time.Second)
			for copied() == 0 && time.Now().Before(deadline) {
				time.Sleep(50 * time.Millisecond)
			}
			cancel()
			<-done
			if copied() == 0 {
				t.Error("no event copied by the loop's first pass")
			}
		})
	}
}
