package bench

import (
	"context"
	"fmt"
	"iter"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/weftdata/weft/internal/demo"
	"github.com/weftdata/weft/internal/stitch"
	"github.com/weftdata/weft/internal/store"
)

// StitchConfig is what the stitching benchmark runs: the demo's rules
// (DemoStitchConfig) with priorities (crm_id 1, cookie_id 2, email 3: a
// shared email is decided last) and a log-in event, web/login, that
// carries a cookie and a crm_id, which the split scenario sends. The demo
// data has no log-ins, so their rules find nothing in the rebuild.
var StitchConfig = func() stitch.Config {
	cfg := DemoStitchConfig
	cfg.Rules = append(slices.Clone(cfg.Rules),
		stitch.Rule{Identifier: "cookie_id", Event: "web/login", ValueExpression: "payload->>'cookie_id'"},
		stitch.Rule{Identifier: "crm_id", Event: "web/login", ValueExpression: "payload->>'crm_id'"})
	cfg.Identifiers = maps.Clone(cfg.Identifiers)
	for cat, p := range map[string]int{"crm_id": 1, "cookie_id": 2, "email": 3} {
		id := cfg.Identifiers[cat]
		id.Priority = p
		cfg.Identifiers[cat] = id
	}
	return cfg
}()

// splitEpoch is when the split scenario's customers appear: after the
// demo's events and the returning customers' visits.
var splitEpoch = time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)

// splitSetup yields the events of n pairs of customers that a shared
// email joins into one entity. Pair i: customer A logs in (cookie c1,
// crm_id u1) and leaves the email e in a form (c1, e); customer B leaves
// e in a form on another device (c2, e); each views a page. Nothing
// conflicts yet: one crm_id, one email.
func splitSetup(n int) iter.Seq[demo.Event] {
	return func(yield func(demo.Event) bool) {
		for i := range n {
			c1, c2, e := fmt.Sprintf("ck_split_a%d", i), fmt.Sprintf("ck_split_b%d", i), fmt.Sprintf("family%d@split.example.com", i)
			at := splitEpoch.Add(time.Duration(i) * time.Second)
			for _, ev := range []demo.Event{
				splitEvent(i, "a-login", "login", at, `{"cookie_id":%q,"crm_id":%q}`, c1, fmt.Sprintf("CRM-SPLIT-A%d", i)),
				splitEvent(i, "a-form", "form_submit", at.Add(time.Minute), `{"cookie_id":%q,"email":%q,"form":"newsletter"}`, c1, e),
				splitEvent(i, "a-view", "page_view", at.Add(2*time.Minute), `{"cookie_id":%q,"url":"https://shop.example.com/"}`, c1),
				splitEvent(i, "b-form", "form_submit", at.Add(time.Hour), `{"cookie_id":%q,"email":%q,"form":"newsletter"}`, c2, e),
				splitEvent(i, "b-view", "page_view", at.Add(time.Hour+time.Minute), `{"cookie_id":%q,"url":"https://shop.example.com/"}`, c2),
			} {
				if !yield(ev) {
					return
				}
			}
		}
	}
}

// splitPass yields the events of an incremental pass of size events, n of
// which trigger a split, spread evenly among returning customers' visits
// (demo.Revisits after the first skip of them): B of pair i logs in with
// its own crm_id u2 on c2. A holds u1, so the entity now holds two crm_ids
// (max_per_entity 1); with crm_id and cookie_id decided before email, B's
// events (c2, u2, its form) and A's (c1, u1, its form) are two entities,
// and the email link between the forms is refused.
func splitPass(opts demo.Options, skip, size, n int) iter.Seq[demo.Event] {
	return func(yield func(demo.Event) bool) {
		i, j := 0, 0
		for e := range demo.Revisits(opts, skip+size-n) {
			if j++; j <= skip {
				continue
			}
			if !yield(e) {
				return
			}
			// The i-th trigger after i*size/n events of the pass.
			for i < n && (j-skip)*n >= (i+1)*(size-n) {
				if !yield(splitTrigger(i)) {
					return
				}
				i++
			}
		}
		for ; i < n; i++ {
			if !yield(splitTrigger(i)) {
				return
			}
		}
	}
}

func splitTrigger(i int) demo.Event {
	at := splitEpoch.Add(24*time.Hour + time.Duration(i)*time.Second)
	return splitEvent(i, "b-login", "login", at, `{"cookie_id":%q,"crm_id":%q}`, fmt.Sprintf("ck_split_b%d", i), fmt.Sprintf("CRM-SPLIT-B%d", i))
}

func splitEvent(i int, what, typ string, at time.Time, payload string, args ...any) demo.Event {
	return demo.Event{ID: fmt.Sprintf("split-%d-%s", i, what), SourceID: "web", Type: typ, Version: "1-0-0",
		EventTime: at, Payload: fmt.Appendf(nil, payload, args...), Customer: -1}
}

// splitsApart counts the pairs of the split scenario that are split as
// they should be: B's form with B's log-in, in another entity than A's
// log-in. (Before the split, A's log-in and B's form are one entity.)
func splitsApart(ctx context.Context, db store.Executor) (int, error) {
	rows, err := db.QueryContext(ctx, "SELECT e.id, m.entity_id FROM event_log e JOIN entity_events m ON m.event_seq = e.seq WHERE e.id LIKE 'split-%'")
	if err != nil {
		return 0, fmt.Errorf("entities of the split scenario: %w", err)
	}
	defer rows.Close()
	entity := map[string]string{}
	for rows.Next() {
		var id, ent string
		if err := rows.Scan(&id, &ent); err != nil {
			return 0, err
		}
		entity[id] = ent
	}
	apart := 0
	for id, a := range entity {
		var i int
		if _, err := fmt.Sscanf(id, "split-%d-a-login", &i); err != nil || !strings.HasSuffix(id, "-a-login") {
			continue
		}
		form, login := entity[fmt.Sprintf("split-%d-b-form", i)], entity[fmt.Sprintf("split-%d-b-login", i)]
		if form != "" && form == login && form != a {
			apart++
		}
	}
	return apart, rows.Err()
}

// runSplitScenario stitches the pairs of the split scenario (untimed),
// then times the incremental pass of opts.SplitPass events that splits
// them.
func runSplitScenario(ctx context.Context, eng *stitch.Engine, opts StitchOpts, demoOpts demo.Options, r *StitchReport) error {
	r.SplitTriggers = max(1, opts.SplitPass/100)
	opts.Progress(fmt.Sprintf("split scenario: %d pairs joined by a shared email", r.SplitTriggers))
	if _, err := Load(ctx, opts.DB, splitSetup(r.SplitTriggers)); err != nil {
		return err
	}
	if _, err := eng.Run(ctx, opts.SplitPass); err != nil {
		return fmt.Errorf("split scenario setup: %w", err)
	}
	skip := max(opts.Incremental, 0)
	if _, err := Load(ctx, opts.DB, splitPass(demoOpts, skip, opts.SplitPass, r.SplitTriggers)); err != nil {
		return err
	}
	opts.Progress("incremental pass with splits")
	start := time.Now()
	res, err := eng.Run(ctx, opts.SplitPass)
	if err != nil {
		return fmt.Errorf("incremental pass with splits: %w", err)
	}
	r.SplitPassTime = time.Since(start)
	r.SplitPassResult = *res
	r.SplitsApart, err = splitsApart(ctx, opts.DB)
	return err
}
