package delivery

import (
	"container/list"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	pb "github.com/promotedai/schema/generated/go/proto/delivery"
)

// MaxAllocationsPerKey bounds the positions remembered for one paging key,
// as opendelivery trims its lists past 3000.
const MaxAllocationsPerKey = 3000

// PagingCacheBytesDefault is the default of Options.PagingCacheBytes.
const PagingCacheBytesDefault = 64 << 20

// allocationBytes is roughly what one remembered position costs besides
// its content id (two map entries).
const allocationBytes = 96

// pager remembers, per paging key, which content went to which global
// position, so that the pages of one request context never show an item
// twice and a page asked for again comes back the same. Keys expire TTL
// after their last page; past the byte bound the least recently used key
// goes first.
type pager struct {
	mu       sync.Mutex
	keys     map[string]*list.Element // of *pagingEntry
	lru      *list.List               // front: most recently used
	bytes    int64
	maxBytes int64
	now      func() time.Time
}

type pagingEntry struct {
	key       string
	byPos     map[uint64]string
	byContent map[string]uint64
	expires   time.Time
	bytes     int64
}

func newPager(maxBytes int64, now func() time.Time) *pager {
	return &pager{keys: map[string]*list.Element{}, lru: list.New(), maxBytes: maxBytes, now: now}
}

// placed is one served insertion: Index into the ranked candidates.
type placed struct {
	Index    int
	Position uint64
}

// allocate serves the page [offset, offset+size) of key from ranked
// content ids (best first, no repeats). Content already placed on this
// page keeps its position, content placed on other pages is left out, and
// the rest fills the open positions, lowest first, in rank order. The
// result is sorted by position.
func (p *pager) allocate(key string, ttl time.Duration, ranked []string, offset, size uint64) []placed {
	p.mu.Lock()
	defer p.mu.Unlock()
	e := p.entry(key)
	end := offset + size
	out := e.kept(ranked, offset, end)
	// Walk the global positions, skipping the taken ones, handing out the
	// content not yet placed; only this page's share is served.
	next := 0
	for pos := uint64(0); pos < end; pos++ {
		for next < len(ranked) && e.has(ranked[next]) {
			next++
		}
		if next == len(ranked) {
			break
		}
		if _, taken := e.byPos[pos]; taken {
			continue
		}
		if pos >= offset {
			out = append(out, placed{next, pos})
		}
		next++
	}
	p.remember(e, ranked, out, ttl)
	sort.Slice(out, func(a, b int) bool { return out[a].Position < out[b].Position })
	return out
}

// kept is the content already placed on [offset, end) that ranked still
// holds, at its positions. A page is small and ranked may be long: one
// pass over ranked looks the few placed ids up, rather than indexing all.
func (e *pagingEntry) kept(ranked []string, offset, end uint64) []placed {
	var want map[string]uint64
	for pos, c := range e.byPos {
		if pos >= offset && pos < end {
			if want == nil {
				want = map[string]uint64{}
			}
			want[c] = pos
		}
	}
	var out []placed
	for i := 0; i < len(ranked) && len(out) < len(want); i++ {
		if pos, ok := want[ranked[i]]; ok {
			out = append(out, placed{i, pos})
		}
	}
	return out
}

func (e *pagingEntry) has(content string) bool {
	_, ok := e.byContent[content]
	return ok
}

// entry returns the key's live entry, or a new one.
func (p *pager) entry(key string) *pagingEntry {
	if el, ok := p.keys[key]; ok {
		e := el.Value.(*pagingEntry)
		if p.now().Before(e.expires) {
			return e
		}
		p.drop(el)
	}
	// Keys and content ids may share a request body (package
	// deliveryjson): the cache keeps copies.
	return &pagingEntry{key: strings.Clone(key), byPos: map[uint64]string{}, byContent: map[string]uint64{}}
}

// remember records the page's new positions (up to the per-key bound),
// renews the key's expiry and evicts past the byte bound.
func (p *pager) remember(e *pagingEntry, ranked []string, page []placed, ttl time.Duration) {
	for _, pl := range page {
		c := ranked[pl.Index]
		if e.has(c) || len(e.byPos) >= MaxAllocationsPerKey {
			continue
		}
		c = strings.Clone(c)
		e.byPos[pl.Position] = c
		e.byContent[c] = pl.Position
		n := int64(len(c) + allocationBytes)
		e.bytes += n
		p.bytes += n
	}
	e.expires = p.now().Add(ttl)
	if el, ok := p.keys[e.key]; ok {
		p.lru.MoveToFront(el)
	} else {
		p.keys[e.key] = p.lru.PushFront(e)
	}
	for p.bytes > p.maxBytes && p.lru.Len() > 1 {
		p.drop(p.lru.Back())
	}
}

func (p *pager) drop(el *list.Element) {
	e := el.Value.(*pagingEntry)
	p.lru.Remove(el)
	delete(p.keys, e.key)
	p.bytes -= e.bytes
}

// pagingKey identifies a request context: the platform, the user (userId,
// else anonUserId), the client type, the traffic type, the use case,
// whether personalization is off, the search query and
// the request properties other than the non-key ones. It is also the
// pagingId returned to the client.
func pagingKey(req *pb.Request, nonKey map[string]bool) string {
	user := req.GetUserInfo().GetUserId()
	if user == "" {
		user = req.GetUserInfo().GetAnonUserId()
	}
	props := []byte("{}")
	if s := req.GetProperties().GetStruct(); s != nil {
		m := s.AsMap()
		for k := range nonKey {
			delete(m, k)
		}
		props, _ = json.Marshal(m) // sorted keys; values came from JSON
	} else if b := req.GetProperties().GetStructBytes(); b != nil {
		props = b
	}
	h := sha256.New()
	for _, part := range []string{
		strconv.FormatUint(req.GetPlatformId(), 10), user,
		req.GetClientInfo().GetClientType().String(), req.GetClientInfo().GetTrafficType().String(), req.GetUseCase().String(),
		strconv.FormatBool(req.GetDisablePersonalization()),
		req.GetSearchQuery(), string(props),
	} {
		h.Write([]byte(part))
		h.Write([]byte{0})
	}
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil)[:18])
}
