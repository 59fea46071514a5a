package delivery

import (
	"fmt"
	"testing"
	"time"

	cm "github.com/promotedai/schema/generated/go/proto/common"
	pb "github.com/promotedai/schema/generated/go/proto/delivery"
	"google.golang.org/protobuf/proto"
)

type testClock struct{ t time.Time }

func (c *testClock) now() time.Time { return c.t }

func contents(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("c%d", i)
	}
	return out
}

func page(ranked []string, got []placed) []string {
	out := make([]string, len(got))
	for i, pl := range got {
		out[i] = fmt.Sprintf("%s@%d", ranked[pl.Index], pl.Position)
	}
	return out
}

func TestPagerPages(t *testing.T) {
	clock := &testClock{time.Unix(1_800_000_000, 0)}
	p := newPager(1<<20, clock.now)
	ranked := contents(10)
	seen := map[string]bool{}
	for i, offset := range []uint64{0, 3, 6} {
		got := p.allocate("k", time.Minute, ranked, offset, 3)
		if len(got) != 3 {
			t.Fatalf("page %d: %v", i, page(ranked, got))
		}
		for j, pl := range got {
			if pl.Position != offset+uint64(j) {
				t.Fatalf("page %d positions %v", i, page(ranked, got))
			}
			if c := ranked[pl.Index]; seen[c] {
				t.Fatalf("page %d repeats %s", i, c)
			} else {
				seen[c] = true
			}
		}
	}
	// The ranking changes: served content stays where it was, the page
	// asked again is the same, and the next page skips what was served.
	reversed := make([]string, len(ranked))
	for i, c := range ranked {
		reversed[len(ranked)-1-i] = c
	}
	if got := fmt.Sprint(page(reversed, p.allocate("k", time.Minute, reversed, 3, 3))); got != "[c3@3 c4@4 c5@5]" {
		t.Errorf("repeated page %s", got)
	}
	if got := fmt.Sprint(page(reversed, p.allocate("k", time.Minute, reversed, 9, 3))); got != "[c9@9]" {
		t.Errorf("next page after a reranking %s", got)
	}
	// Another key is another context.
	if got := fmt.Sprint(page(reversed, p.allocate("other", time.Minute, reversed, 0, 2))); got != "[c9@0 c8@1]" {
		t.Errorf("other key %s", got)
	}
	// Past the TTL the context starts over.
	clock.t = clock.t.Add(61 * time.Second)
	if got := fmt.Sprint(page(reversed, p.allocate("k", time.Minute, reversed, 3, 3))); got != "[c6@3 c5@4 c4@5]" {
		t.Errorf("after the TTL %s", got)
	}
}

// TestPagerLaterPageFirst serves page 2 before page 1: page 2 takes ranks
// 3 to 5, and page 1 the top three.
func TestPagerLaterPageFirst(t *testing.T) {
	p := newPager(1<<20, time.Now)
	ranked := contents(6)
	if got := fmt.Sprint(page(ranked, p.allocate("k", time.Minute, ranked, 3, 3))); got != "[c3@3 c4@4 c5@5]" {
		t.Errorf("page 2 %s", got)
	}
	if got := fmt.Sprint(page(ranked, p.allocate("k", time.Minute, ranked, 0, 3))); got != "[c0@0 c1@1 c2@2]" {
		t.Errorf("page 1 %s", got)
	}
}

func TestPagerBounds(t *testing.T) {
	p := newPager(1<<30, time.Now)
	ranked := contents(MaxAllocationsPerKey + 10)
	p.allocate("k", time.Minute, ranked, 0, uint64(len(ranked)))
	if e := p.keys["k"].Value.(*pagingEntry); len(e.byPos) != MaxAllocationsPerKey {
		t.Errorf("%d allocations kept, want %d", len(e.byPos), MaxAllocationsPerKey)
	}
	small := newPager(3*(allocationBytes+2)+1, time.Now)
	small.allocate("a", time.Minute, contents(3), 0, 3)
	small.allocate("b", time.Minute, contents(3), 0, 3)
	if _, ok := small.keys["a"]; ok || small.lru.Len() != 1 || small.bytes > small.maxBytes {
		t.Errorf("least recently used key not evicted: %d keys, %d bytes", small.lru.Len(), small.bytes)
	}
}

// TestPagingKeyTrafficType: shadow traffic has contexts of its own, so a
// shadow request never takes positions of the production pages.
func TestPagingKeyTrafficType(t *testing.T) {
	prod := &pb.Request{UserInfo: &cm.UserInfo{AnonUserId: "a"}, ClientInfo: &cm.ClientInfo{TrafficType: cm.ClientInfo_PRODUCTION}}
	shadow := &pb.Request{UserInfo: &cm.UserInfo{AnonUserId: "a"}, ClientInfo: &cm.ClientInfo{TrafficType: cm.ClientInfo_SHADOW}}
	if pagingKey(prod, nil) == pagingKey(shadow, nil) {
		t.Error("production and shadow requests share a paging context")
	}
	plain := proto.Clone(prod).(*pb.Request)
	plain.DisablePersonalization = true
	if pagingKey(prod, nil) == pagingKey(plain, nil) {
		t.Error("personalized and unpersonalized requests share a paging context")
	}
	if pagingKey(prod, nil) != pagingKey(proto.Clone(prod).(*pb.Request), nil) {
		t.Error("equal requests have different paging contexts")
	}
}
