package event

import (
	"context"
	"testing"
	"time"
)

func TestBusyClock(t *testing.T) {
	var c busyClock
	t0 := time.Now()
	if got := c.read(t0); got != 0 {
		t.Fatalf("new clock reads %s", got)
	}
	// Two calls at once, still running: each counts up to now.
	end1 := c.enter(t0.Add(-3 * time.Second))
	end2 := c.enter(t0.Add(-2 * time.Second))
	if got := c.read(t0); got != 5*time.Second {
		t.Fatalf("two running calls (3 s and 2 s so far) read %s, want 5s", got)
	}
	end1()
	end2()
	after := c.read(time.Now())
	if after < 5*time.Second || after > 6*time.Second {
		t.Fatalf("after both returned: %s, want 5 s and the moments since", after)
	}
	// Nothing running: the reading no longer moves.
	if again := c.read(time.Now().Add(time.Hour)); again != after {
		t.Fatalf("idle clock moved from %s to %s", after, again)
	}
}

func TestIngesterBusy(t *testing.T) {
	in := NewIngester(nil, nil)
	// A batch with nothing storable never reaches the store, but its
	// call is counted.
	if _, err := in.Ingest(context.Background(), &Batch{}); err != nil {
		t.Fatal(err)
	}
	if in.Busy() <= 0 {
		t.Fatalf("Busy after an Ingest: %s", in.Busy())
	}
}
