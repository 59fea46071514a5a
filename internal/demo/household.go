package demo

import (
	_ "embed"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"
)

// HouseholdOptions shape a household population (Households).
type HouseholdOptions struct {
	// Customers is how many customers there are. Default 1000.
	Customers int
	// Seed makes the population; the same seed gives the same events in
	// the same arrival order. Default 1.
	Seed uint64
}

// HouseholdShare is the share of logged-in customers who share their
// email with another customer of their household, each keeping their own
// login id (issue 18's population).
const HouseholdShare = 0.08

// Shares of the population; householdPairs makes HouseholdShare of the
// logged-in customers household members: h / (h + (1-h)*loginShare) = 0.08.
const (
	loginShare     = 0.7
	householdPairs = HouseholdShare * loginShare / (1 - HouseholdShare*(1-loginShare))
	// emailShare of the customers who never log in leave an email.
	emailShare = 0.5
	// junkShare of the customers with an email also type a junk address
	// that no rule blocks into a form.
	junkShare = 0.015
	// loggedShare of the page views after a login carry the login id.
	loggedShare = 0.5
)

// junkEmails are addresses people type to get past a form; no blocked
// value catches them. Each block of junkBlock customers has one, numbered
// by the block (several customers type each), so that the population's
// scores do not depend on its size.
var junkEmails = []string{"info%d@shop.example.com", "a%d@a.com", "asdf%d@asdf.com", "no%d@thanks.com", "x%d@x.x"}

const junkBlock = 400

// HouseholdConfig is the weft.yaml stitching of the household population:
// the demo's rules (Config), plus the login id read from logged-in web
// events, with priorities: crm_id 1, cookie_id 2, email 3.
//
//go:embed household.yaml
var HouseholdConfig []byte

// Households generates the household population of issue 18 and returns
// its events in their arrival order, with the truth: event id -> customer.
// Events arrive roughly in time order, each up to maxDelay late, so that
// arrival is shuffled as a live feed's is, and sign-ups mostly arrive
// before the logins of the same customer.
//
// Each customer browses the shop (web/page_view with a cookie_id).
// loginShare of them log in, from one to three devices: after their login
// their page views carry their login id (crm_id) too, and their purchases
// (shop/purchase) and CRM updates carry it with their email. Those who
// never log in are known by one device. Customers with an email sign up
// for the newsletter (web/form_submit: cookie_id and the email, mixed case
// and padded as forms give it) on their devices before they log in.
// Households are pairs of logged-in customers sharing one email
// (HouseholdShare of the logged-in customers): stitching in arrival order
// joins their devices through it before their logins can keep them apart.
// Some forms carry a placeholder the demo config blocks, some a junk
// address it does not block, typed by several customers.
func Households(opts HouseholdOptions) ([]Event, map[string]int) {
	if opts.Customers <= 0 {
		opts.Customers = CustomersDefault
	}
	if opts.Seed == 0 {
		opts.Seed = 1
	}
	var events []Event
	for i := range opts.Customers {
		events = householdCustomer(opts, i, events)
	}
	// Events arrive in time order, each late by up to maxDelay: sign-ups
	// mostly before logins, but out of order.
	r := rand.New(rand.NewPCG(opts.Seed, 0x5417f1ed))
	arrival := make(map[string]time.Time, len(events))
	for _, e := range events {
		arrival[e.ID] = e.EventTime.Add(time.Duration(r.Int64N(int64(maxDelay))))
	}
	slices.SortFunc(events, func(a, b Event) int {
		if c := arrival[a.ID].Compare(arrival[b.ID]); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	truth := make(map[string]int, len(events))
	for _, e := range events {
		truth[e.ID] = e.Customer
	}
	return events, truth
}

// householdStart and householdSpan place the population's events in time.
var householdStart = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

const householdSpan = 60 * 24 * time.Hour

// maxDelay is how late an event may arrive.
const maxDelay = 3 * 24 * time.Hour

// inHousehold reports whether customers 2k and 2k+1 form a household; it
// depends on the seed and the pair only, so both members agree.
func inHousehold(seed uint64, i int) bool {
	return rand.New(rand.NewPCG(seed^0x4011e, uint64(i/2))).Float64() < householdPairs
}

// householdPerson returns customer i's identity.
func householdPerson(r *rand.Rand, opts HouseholdOptions, i int) Customer {
	c := Customer{Index: i, Household: inHousehold(opts.Seed, i) && i^1 < opts.Customers}
	devices := 1 + r.IntN(3)
	first, last := firstNames[r.IntN(len(firstNames))], lastNames[r.IntN(len(lastNames))]
	switch {
	case c.Household:
		p := i / 2
		c.Email = fmt.Sprintf("%s.family%d@%s", lastNames[p%len(lastNames)], p, domains[p%len(domains)])
		c.CRMID = fmt.Sprintf("HH-%07d", i)
	case r.Float64() < loginShare:
		c.Email = fmt.Sprintf("%s.%s%d@%s", first, last, i, domains[r.IntN(len(domains))])
		c.CRMID = fmt.Sprintf("HH-%07d", i)
	case r.Float64() < emailShare:
		c.Email = fmt.Sprintf("%s.%s%d@%s", first, last, i, domains[r.IntN(len(domains))])
	}
	// A device is known to be the customer's only through a login or an
	// email on it: those who never log in are known by one device.
	if c.CRMID == "" {
		devices = 1
	}
	for range devices {
		c.Cookies = append(c.Cookies, "hh_ck_"+randHex(r, 8))
	}
	return c
}

// householdCustomer appends customer i's events to buf: anonymous page
// views and newsletter sign-ups before the login, logged-in page views,
// purchases and a CRM update after it.
func householdCustomer(opts HouseholdOptions, i int, buf []Event) []Event {
	r := rand.New(rand.NewPCG(opts.Seed^0x4005e401d, uint64(i)))
	c := householdPerson(r, opts, i)
	g := gen{r: r, c: c, customer: i}
	n := 0
	add := func(source, typ string, at time.Time, payload []byte) {
		n++
		buf = append(buf, g.event(fmt.Sprintf("hh%d-%d", i, n), source, typ, at.Truncate(time.Millisecond), payload))
	}
	firstSeen := time.Duration(r.Int64N(int64(householdSpan / 2)))
	login := firstSeen + householdSpan/10 + time.Duration(r.Int64N(int64(householdSpan/4)))
	before := func() time.Time {
		return householdStart.Add(firstSeen + time.Duration(r.Int64N(int64(login-firstSeen))))
	}
	after := func() time.Time {
		return householdStart.Add(login + time.Duration(r.Int64N(int64(householdSpan-login))))
	}
	for _, ck := range c.Cookies {
		for k := 1 + r.IntN(3); k > 0; k-- {
			add("web", "page_view", before(), householdPageView(ck, ""))
		}
	}
	if c.Email != "" {
		for _, device := range c.Cookies {
			email := g.messy(c.Email)
			if p, ok := g.placeholder(); ok {
				email = p
			}
			add("web", "form_submit", before(), householdForm(device, email))
		}
		if r.Float64() < junkShare {
			add("web", "form_submit", before(), householdForm(c.Cookies[0], g.messy(junk(i))))
		}
	}
	if c.CRMID == "" {
		return buf
	}
	for _, ck := range c.Cookies {
		for k := range 1 + r.IntN(3) {
			// The shop sends the login id with the first page view after
			// the login and then with some only.
			login := c.CRMID
			if k > 0 && r.Float64() >= loggedShare {
				login = ""
			}
			add("web", "page_view", after(), householdPageView(ck, login))
		}
	}
	for k := r.IntN(3); k > 0; k-- {
		add("shop", "purchase", after(), householdPurchase(g.messy(c.Email), c.CRMID, r))
	}
	add("crm", "customer_update", after(), householdCRM(c.Email, c.CRMID))
	return buf
}

// junk is the junk address of customer i's block.
func junk(i int) string {
	b := i / junkBlock
	return fmt.Sprintf(junkEmails[b%len(junkEmails)], b)
}

func householdPageView(cookie, login string) []byte {
	var o obj
	o.str("cookie_id", cookie)
	if login != "" {
		o.str("crm_id", login)
	}
	o.str("url", "https://shop.example.com/")
	return o.end()
}

func householdForm(cookie, email string) []byte {
	var o obj
	o.str("cookie_id", cookie)
	o.str("email", email)
	o.str("form", "newsletter")
	o.boolean("newsletter", true)
	return o.end()
}

func householdPurchase(email, login string, r *rand.Rand) []byte {
	var o obj
	o.str("order_id", "HO-"+randHex(r, 6))
	o.str("email", email)
	o.str("crm_id", login)
	o.num("total", float64(1+r.IntN(200)))
	return o.end()
}

func householdCRM(email, login string) []byte {
	var o obj
	o.str("crm_id", login)
	o.str("email", email)
	return o.end()
}
