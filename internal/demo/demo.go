package demo

import (
	_ "embed"
	"encoding/hex"
	"fmt"
	"iter"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"
)

// Options shape a dataset.
type Options struct {
	// Customers is how many customers Events generates. Default 1000.
	Customers int
	// Seed makes the dataset; the same seed gives the same data. Default 1.
	Seed uint64
	// Start is the earliest event time. Default 2026-01-01T00:00:00Z.
	Start time.Time
	// Days is the span the events cover. Default 90.
	Days int
	// EventsPerCustomer, when set, sizes each customer's page views so that
	// customers average about this many events (at least about 5: the form
	// submits, purchases and CRM updates stay as they are, about 3.8 on
	// average). 0 keeps the generator's own mix, about 20 events a customer.
	EventsPerCustomer float64
	// FirstCustomer is the index of the first customer whose events are
	// generated (0 by default): a stream starting past a store's customers
	// brings new people only.
	FirstCustomer int
}

// CustomersDefault is the default number of customers.
const CustomersDefault = 1000

func (o Options) withDefaults() Options {
	if o.Customers <= 0 {
		o.Customers = CustomersDefault
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
	if o.Start.IsZero() {
		o.Start = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	if o.Days <= 0 {
		o.Days = 90
	}
	return o
}

// Event is one generated event with its ground truth.
type Event struct {
	// ID is empty for events that should get a derived id.
	ID        string
	SourceID  string
	Type      string
	Version   string
	EventTime time.Time
	// Payload is a JSON object.
	Payload []byte
	// Customer is the index of the customer who really produced the event.
	Customer int
}

// AppendJSON appends the event as one wire record (no trailing newline).
func (e *Event) AppendJSON(dst []byte) []byte {
	dst = append(dst, '{')
	if e.ID != "" {
		dst = append(dst, `"id":`...)
		dst = strconv.AppendQuote(dst, e.ID)
		dst = append(dst, ',')
	}
	dst = append(dst, `"source_id":`...)
	dst = strconv.AppendQuote(dst, e.SourceID)
	dst = append(dst, `,"type":`...)
	dst = strconv.AppendQuote(dst, e.Type)
	dst = append(dst, `,"version":`...)
	dst = strconv.AppendQuote(dst, e.Version)
	dst = append(dst, `,"event_time":"`...)
	dst = e.EventTime.AppendFormat(dst, "2006-01-02T15:04:05.000000Z07:00")
	dst = append(dst, `","payload":`...)
	dst = append(dst, e.Payload...)
	return append(dst, '}')
}

// chunk is how many customers are generated together; their events are
// interleaved in time order, as a live feed would interleave them.
const chunk = 256

// Events yields the dataset: opts.Customers customers' events.
func Events(opts Options) iter.Seq[Event] {
	opts = opts.withDefaults()
	return stream(opts, opts.Customers)
}

// Stream yields events of ever more customers until n events were yielded,
// for benchmarks that need an exact count.
func Stream(opts Options, n int) iter.Seq[Event] {
	opts = opts.withDefaults()
	return func(yield func(Event) bool) {
		count := 0
		for e := range stream(opts, -1) {
			if count == n || !yield(e) {
				return
			}
			count++
		}
	}
}

// stream yields customers' events chunk by chunk; customers < 0 is endless.
func stream(opts Options, customers int) iter.Seq[Event] {
	return func(yield func(Event) bool) {
		var buf []Event
		var order []int
		for first := 0; customers < 0 || first < customers; first += chunk {
			buf = buf[:0]
			last := first + chunk
			if customers >= 0 {
				last = min(last, customers)
			}
			for c := first; c < last; c++ {
				buf = generateCustomer(opts, opts.FirstCustomer+c, buf)
			}
			// Sort positions, not the events themselves: far less copying.
			order = order[:0]
			for i := range buf {
				order = append(order, i)
			}
			slices.SortFunc(order, func(a, b int) int {
				if c := buf[a].EventTime.Compare(buf[b].EventTime); c != 0 {
					return c
				}
				return a - b
			})
			for _, i := range order {
				if !yield(buf[i]) {
					return
				}
			}
		}
	}
}

// Customer is the hidden identity of one simulated customer.
type Customer struct {
	Index   int
	Cookies []string
	Email   string // canonical, lower case; empty if never given
	CRMID   string // empty if not a CRM contact
	Phone   string
	// Household says Email is shared with the other member of a two-person
	// household (customers 2k and 2k+1): a trap for stitching by email.
	// Both are CRM contacts with their own crm_id.
	Household bool
	// Kiosk is the cookie of a shared in-store sign-up tablet this customer
	// left their email on, "" if none: a trap for stitching by cookie.
	Kiosk string
}

// kiosks is how many shared sign-up tablets the shops have.
const kiosks = 5

// household reports whether customer i shares an email with i^1.
func household(i int) bool { return (i/2)%25 == 7 }

// CustomerAt returns the identity of customer i.
func CustomerAt(opts Options, i int) Customer {
	opts = opts.withDefaults()
	return newCustomer(rngFor(opts, i), i)
}

func rngFor(opts Options, i int) *rand.Rand {
	return rand.New(rand.NewPCG(opts.Seed, uint64(i)+0x9e3779b97f4a7c15))
}

func newCustomer(r *rand.Rand, i int) Customer {
	c := Customer{Index: i}
	for n := 1 + r.IntN(3); n > 0; n-- {
		c.Cookies = append(c.Cookies, "ck_"+randHex(r, 8))
	}
	if r.Float64() < 0.8 {
		first, last := firstNames[r.IntN(len(firstNames))], lastNames[r.IntN(len(lastNames))]
		c.Email = fmt.Sprintf("%s.%s%d@%s", first, last, i, domains[r.IntN(len(domains))])
		if r.Float64() < 0.6 {
			c.CRMID = fmt.Sprintf("CRM-%07d", i)
		}
		if r.Float64() < 0.5 {
			c.Phone = fmt.Sprintf("+4207%08d", r.IntN(100_000_000))
		}
	}
	switch {
	case household(i):
		c.Household = true
		c.Email = fmt.Sprintf("%s.family%d@%s", lastNames[(i/2)%len(lastNames)], i/2, domains[(i/2)%len(domains)])
		c.CRMID = fmt.Sprintf("CRM-%07d", i)
	case c.Email != "" && r.Float64() < 0.03:
		c.Kiosk = fmt.Sprintf("ck_kiosk_%d", r.IntN(kiosks))
	}
	return c
}

func randHex(r *rand.Rand, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return hex.EncodeToString(b)
}

// Config is the weft.yaml for the demo dataset.
//
//go:embed weft.yaml
var Config []byte

// Revisits yields n events of customers who come back after opts.Days:
// customers drawn at random among the first opts.Customers, each making a
// new visit with the identifiers they had (cookies, email, CRM id), so that
// incremental stitching meets entities it already knows. The same options
// and n give the same events; their ids are new.
func Revisits(opts Options, n int) iter.Seq[Event] {
	opts = opts.withDefaults()
	return func(yield func(Event) bool) {
		pick := rand.New(rand.NewPCG(opts.Seed, 0x5e715175))
		count := 0
		var buf []Event
		for visit := 0; count < n; visit++ {
			buf = revisit(opts, pick.IntN(opts.Customers), visit, buf[:0])
			for _, e := range buf {
				if count == n || !yield(e) {
					return
				}
				count++
			}
		}
	}
}
