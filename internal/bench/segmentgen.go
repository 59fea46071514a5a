package bench

import (
	"encoding/json"
	"strconv"
	"time"
)

// segmentGen writes batches of messages shaped as @segment/analytics-node
// 3.x sends them: its envelope {"batch", "writeKey", "sentAt"}, and in each
// message its messageId ("node-next-<ms>-<uuid>"), timestamp, context,
// integrations and _metadata, with properties and traits of a size real
// tracking has (about 700 bytes a message). Message i of a seed always
// has the same messageId and content; only its timestamp follows the run.
type segmentGen struct {
	seed     uint64
	writeKey []byte // as a JSON string
	base     time.Time
}

func newSegmentGen(seed uint64, writeKey string, base time.Time) *segmentGen {
	wk, _ := json.Marshal(writeKey)
	return &segmentGen{seed: seed, writeKey: wk, base: base.UTC().Truncate(time.Millisecond)}
}

// idEpoch is the time in the messageIds, in ms: 2026-01-01.
const idEpoch = 1_767_225_600_000

// segmentUsers is how many people the messages are about.
const segmentUsers = 50_000

var (
	segmentEvents   = []string{"Product Viewed", "Product Added", "Products Searched", "Checkout Started", "Order Completed", "Product Clicked"}
	segmentCategory = []string{"shoes", "shirts", "bags", "hats", "jackets", "socks", "belts"}
	segmentPages    = []string{"Home", "Pricing", "Product", "Category", "Cart", "Search", "Blog"}
)

// batch appends the batch of n messages starting at message first.
func (g *segmentGen) batch(b []byte, first, n int) []byte {
	b = append(b, `{"batch":[`...)
	for i := range n {
		if i > 0 {
			b = append(b, ',')
		}
		b = g.message(b, first+i)
	}
	b = append(b, `],"writeKey":`...)
	b = append(b, g.writeKey...)
	b = append(b, `,"sentAt":"`...)
	b = time.Now().UTC().AppendFormat(b, "2006-01-02T15:04:05.000Z")
	return append(b, `"}`...)
}

// message appends message i: a tenth identify, a fifth page, the rest
// track.
func (g *segmentGen) message(b []byte, i int) []byte {
	r1 := splitmix(g.seed<<40 ^ uint64(i))
	r2 := splitmix(r1)
	user := r1 % segmentUsers
	at := g.base.Add(time.Duration(i) * time.Microsecond)
	b = append(b, `{"timestamp":"`...)
	b = at.AppendFormat(b, "2006-01-02T15:04:05.000Z")
	b = append(b, `","integrations":{},`...)
	switch i % 10 {
	case 0:
		b = append(b, `"type":"identify","traits":{"email":"user`...)
		b = strconv.AppendUint(b, user, 10)
		b = append(b, `@example.com","first_name":"Ada","last_name":"Lovelace","plan":"pro","company":{"name":"Analytical Engines Ltd","industry":"software","employees":120},"created_at":"2025-03-14T09:26:53.000Z","logins":`...)
		b = strconv.AppendUint(b, r2%500, 10)
		b = append(b, `},`...)
	case 1, 2:
		b = append(b, `"type":"page","name":"`...)
		b = append(b, segmentPages[r2%uint64(len(segmentPages))]...)
		b = append(b, `","properties":{"url":"https://shop.example.com/p/`...)
		b = strconv.AppendUint(b, r2%10_000, 10)
		b = append(b, `?utm_source=newsletter&utm_medium=email","path":"/p/`...)
		b = strconv.AppendUint(b, r2%10_000, 10)
		b = append(b, `","referrer":"https://www.example.org/search?q=running+shoes","title":"Trail running shoes | Example Shop","search":"?utm_source=newsletter&utm_medium=email"},`...)
	default:
		b = append(b, `"type":"track","event":"`...)
		b = append(b, segmentEvents[r2%uint64(len(segmentEvents))]...)
		b = append(b, `","properties":{"product_id":"P-`...)
		b = strconv.AppendUint(b, r2%10_000, 10)
		b = append(b, `","sku":"SKU-`...)
		b = strconv.AppendUint(b, r2%10_000, 10)
		b = append(b, `","category":"`...)
		b = append(b, segmentCategory[r2%uint64(len(segmentCategory))]...)
		b = append(b, `","name":"Trail running shoe","brand":"Example","variant":"blue","price":`...)
		b = strconv.AppendUint(b, 10+r2%190, 10)
		b = append(b, `.99,"quantity":`...)
		b = strconv.AppendUint(b, 1+r2%3, 10)
		b = append(b, `,"currency":"EUR","position":`...)
		b = strconv.AppendUint(b, r2%24, 10)
		b = append(b, `,"url":"https://shop.example.com/p/`...)
		b = strconv.AppendUint(b, r2%10_000, 10)
		b = append(b, `","image_url":"https://cdn.shop.example.com/img/`...)
		b = strconv.AppendUint(b, r2%10_000, 10)
		b = append(b, `.jpg"},`...)
	}
	b = append(b, `"context":{"library":{"name":"@segment/analytics-node","version":"3.1.0"},"ip":"203.0.113.`...)
	b = strconv.AppendUint(b, user%250, 10)
	b = append(b, `","userAgent":"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/148.0 Safari/537.36","locale":"en-US"},`...)
	// A third of the messages come before the person logged in.
	if r2%3 == 0 {
		b = append(b, `"anonymousId":"anon-`...)
		b = strconv.AppendUint(b, user, 10)
	} else {
		b = append(b, `"userId":"user-`...)
		b = strconv.AppendUint(b, user, 10)
	}
	// The id's time is fixed by the seed, not the run, so that the same
	// seed sends the same messages again.
	b = append(b, `","messageId":"node-next-`...)
	b = strconv.AppendInt(b, idEpoch+int64(g.seed%1000)*86_400_000+int64(i/1000), 10)
	b = append(b, '-')
	b = appendUUID(b, r1, r2)
	return append(b, `","_metadata":{"nodeVersion":"v20.20.2","jsRuntime":"node"}}`...)
}

// appendUUID appends a version 4 UUID made of two random words.
func appendUUID(b []byte, hi, lo uint64) []byte {
	const hex = "0123456789abcdef"
	hi = hi&^(0xf<<12) | 4<<12   // version 4
	lo = lo&^(0x3<<62) | 0x2<<62 // variant 10
	for i, n := 0, 0; i < 32; i++ {
		w, shift := hi, uint(60-4*i)
		if i >= 16 {
			w, shift = lo, uint(60-4*(i-16))
		}
		if n == 8 || n == 13 || n == 18 || n == 23 {
			b = append(b, '-')
			n++
		}
		b = append(b, hex[w>>shift&0xf])
		n++
	}
	return b
}

// splitmix is SplitMix64's step: a well-mixed word from any word.
func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}
