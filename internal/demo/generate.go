package demo

import (
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
)

// generateCustomer appends customer i's events to buf.
func generateCustomer(opts Options, i int, buf []Event) []Event {
	r := rngFor(opts, i)
	c := newCustomer(r, i)
	span := time.Duration(opts.Days) * 24 * time.Hour
	firstSeen := opts.Start.Add(time.Duration(r.Int64N(int64(span * 3 / 4))))
	at := func() time.Time {
		rest := opts.Start.Add(span).Sub(firstSeen)
		return firstSeen.Add(time.Duration(r.Int64N(int64(rest)))).Truncate(time.Millisecond)
	}
	g := gen{r: r, c: c, customer: i}
	for n := g.pageViews(opts); n > 0; n-- {
		buf = append(buf, g.pageView(at()))
	}
	if c.Email != "" {
		// Household members never type the shared email into a web form:
		// nothing could tell whose cookie it is.
		for n := r.IntN(3); n > 0 && !c.Household; n-- {
			buf = append(buf, g.formSubmit(at()))
		}
		if c.Kiosk != "" {
			buf = append(buf, g.kioskSignup(at()))
		}
		for n := r.IntN(6); n > 0; n-- {
			buf = append(buf, g.purchase(at()))
		}
	}
	if c.CRMID != "" {
		for n := 1 + r.IntN(3); n > 0; n-- {
			buf = append(buf, g.crmUpdate(at()))
		}
	}
	return buf
}

// revisit appends a new visit of customer i, the visit-th of Revisits:
// within a day after the dataset's span, from an RNG of its own.
func revisit(opts Options, i, visit int, buf []Event) []Event {
	c := newCustomer(rngFor(opts, i), i)
	r := rand.New(rand.NewPCG(opts.Seed^0x7e715175, uint64(visit)))
	start := opts.Start.Add(time.Duration(opts.Days) * 24 * time.Hour)
	at := func() time.Time {
		return start.Add(time.Duration(r.Int64N(int64(24 * time.Hour)))).Truncate(time.Millisecond)
	}
	g := gen{r: r, c: c, customer: i, orders: 1000 + visit}
	for n := 1 + r.IntN(5); n > 0; n-- {
		buf = append(buf, g.pageView(at()))
	}
	if c.Email != "" && r.IntN(3) == 0 {
		buf = append(buf, g.purchase(at()))
	}
	if c.CRMID != "" && r.IntN(4) == 0 {
		buf = append(buf, g.crmUpdate(at()))
	}
	return buf
}

type gen struct {
	r        *rand.Rand
	c        Customer
	customer int
	orders   int
}

// otherEvents is the mean number of events other than page views a
// customer makes: 0.8 * (1 form submit + 2.5 purchases) + 0.48 * 2 CRM updates.
const otherEvents = 3.76

// pageViews is how many page views the customer makes: 3 to 30, or with
// opts.EventsPerCustomer, 1 to about twice the mean that gives that total.
func (g *gen) pageViews(opts Options) int {
	if opts.EventsPerCustomer <= 0 {
		return 3 + g.r.IntN(28)
	}
	mean := max(1, opts.EventsPerCustomer-otherEvents)
	return 1 + int(g.r.Float64()*(2*mean-1))
}

func (g *gen) event(id, source, typ string, at time.Time, payload []byte) Event {
	return Event{ID: id, SourceID: source, Type: typ, Version: "1-0-0", EventTime: at, Payload: payload, Customer: g.customer}
}

func (g *gen) cookie() string { return g.c.Cookies[g.r.IntN(len(g.c.Cookies))] }

func (g *gen) pageView(at time.Time) Event {
	p := products[g.r.IntN(len(products))]
	var o obj
	o.str("cookie_id", g.cookie())
	o.str("url", "https://shop.example.com/"+p.category+"/"+p.sku)
	o.str("title", p.name)
	o.str("category", p.category)
	o.str("referrer", referrers[g.r.IntN(len(referrers))])
	o.str("user_agent", userAgents[g.r.IntN(len(userAgents))])
	return g.event("pv_"+randHex(g.r, 12), "web", "page_view", at, o.end())
}

// messy returns the email as people type it into forms.
func (g *gen) messy(email string) string {
	switch g.r.IntN(6) {
	case 0:
		return strings.ToUpper(email[:1]) + email[1:]
	case 1:
		return " " + email + " "
	case 2:
		return strings.ToUpper(email)
	}
	return email
}

// placeholder is an email that many people type, which must never stitch.
func (g *gen) placeholder() (string, bool) {
	if g.r.Float64() < 0.03 {
		return placeholders[g.r.IntN(len(placeholders))], true
	}
	return "", false
}

func (g *gen) formSubmit(at time.Time) Event {
	email := g.messy(g.c.Email)
	if p, ok := g.placeholder(); ok {
		email = p
	}
	var o obj
	o.str("cookie_id", g.cookie())
	o.str("email", email)
	o.str("form", forms[g.r.IntN(len(forms))])
	o.boolean("newsletter", g.r.IntN(2) == 0)
	return g.event("fs_"+randHex(g.r, 12), "web", "form_submit", at, o.end())
}

// kioskSignup is a newsletter sign-up on a tablet in a shop: its cookie is
// shared by everyone who signs up there.
func (g *gen) kioskSignup(at time.Time) Event {
	var o obj
	o.str("cookie_id", g.c.Kiosk)
	o.str("email", g.messy(g.c.Email))
	o.str("form", "newsletter")
	o.boolean("newsletter", true)
	return g.event("fs_"+randHex(g.r, 12), "web", "form_submit", at, o.end())
}

func (g *gen) crmUpdate(at time.Time) Event {
	email := g.c.Email
	if p, ok := g.placeholder(); ok {
		email = p
	}
	var o obj
	o.str("crm_id", g.c.CRMID)
	o.str("email", email)
	if g.c.Phone != "" {
		o.str("phone", g.c.Phone)
	}
	name, _, _ := strings.Cut(g.c.Email, "@")
	first, last, _ := strings.Cut(name, ".")
	o.str("first_name", strings.ToUpper(first[:1])+first[1:])
	o.str("last_name", strings.ToUpper(last[:1])+strings.TrimRight(last[1:], "0123456789"))
	o.str("city", cities[g.customer%len(cities)])
	o.boolean("consent_marketing", g.r.IntN(3) > 0)
	return g.event("", "crm", "customer_update", at, o.end())
}

func (g *gen) purchase(at time.Time) Event {
	g.orders++
	var o obj
	o.str("order_id", "ORD-"+strconv.Itoa(g.customer)+"-"+strconv.Itoa(g.orders))
	o.str("email", g.messy(g.c.Email))
	// A household's shared email comes with the buyer's crm_id, as it
	// does from a loyalty card at the till.
	if g.c.CRMID != "" && (g.c.Household || g.r.IntN(2) == 0) {
		o.str("crm_id", g.c.CRMID)
	}
	o.str("currency", "EUR")
	var items arr
	total := 0.0
	for n := 1 + g.r.IntN(4); n > 0; n-- {
		p := products[g.r.IntN(len(products))]
		qty := 1 + g.r.IntN(3)
		total += p.price * float64(qty)
		var it obj
		it.str("sku", p.sku)
		it.str("name", p.name)
		it.str("category", p.category)
		it.num("price", p.price)
		it.num("quantity", float64(qty))
		items.raw(it.end())
	}
	o.num("total", float64(int(total*100+0.5))/100)
	o.raw("products", items.end())
	return g.event("", "shop", "purchase", at, o.end())
}
