package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/promotedai/schema/generated/go/proto/common"
	pb "github.com/promotedai/schema/generated/go/proto/delivery"
)

// LoadOpts describe one load phase against a Delivery API: requests of
// Insertions insertions each, for Duration, either as fast as Concurrency
// workers can send them (Rate 0) or at Rate requests per second.
type LoadOpts struct {
	URL         string        `json:"url"`
	APIKey      string        `json:"api_key,omitempty"`
	Insertions  int           `json:"insertions"`
	Users       int           `json:"users"`
	Items       int           `json:"items"`
	Duration    time.Duration `json:"duration"`
	Concurrency int           `json:"concurrency"`
	Rate        int           `json:"rate,omitempty"`
	Seed        uint64        `json:"seed"`
}

// Latencies are percentiles of a latency sample.
type Latencies struct {
	P50 time.Duration `json:"p50"`
	P99 time.Duration `json:"p99"`
	Max time.Duration `json:"max"`
}

func (l Latencies) String() string {
	return fmt.Sprintf("p50 %.2f ms, p99 %.2f ms, max %.2f ms", ms(l.P50), ms(l.P99), ms(l.Max))
}

func latencies(d []time.Duration) Latencies {
	if len(d) == 0 {
		return Latencies{}
	}
	slices.Sort(d)
	at := func(p float64) time.Duration { return d[min(len(d)-1, int(p*float64(len(d))))] }
	return Latencies{P50: at(0.50), P99: at(0.99), Max: d[len(d)-1]}
}

// LoadReport is what one load phase measured. Server latencies come from
// the Server-Timing header: the time the server spent from reading the
// request to writing the answer; client latencies add the network, the
// client's queue and, at a fixed rate, any delay before a request could
// be sent (measured from when it was due, so a stalled server shows).
type LoadReport struct {
	Opts     LoadOpts      `json:"opts"`
	Requests int           `json:"requests"`
	Errors   int           `json:"errors"`
	Error    string        `json:"first_error,omitempty"`
	Elapsed  time.Duration `json:"elapsed"`
	Server   Latencies     `json:"server"`
	Client   Latencies     `json:"client"`
}

// RequestsPerSec is the throughput of the phase.
func (r *LoadReport) RequestsPerSec() float64 { return float64(r.Requests) / r.Elapsed.Seconds() }

func (r *LoadReport) String() string {
	mode := fmt.Sprintf("%d workers, as fast as answered", r.Opts.Concurrency)
	if r.Opts.Rate > 0 {
		mode = fmt.Sprintf("at %d requests/s", r.Opts.Rate)
	}
	s := fmt.Sprintf("deliver %d insertions, %s: %d requests in %.1f s = %.0f requests/s, %d errors\n  server-side %s\n  client-side %s",
		r.Opts.Insertions, mode, r.Requests, r.Elapsed.Seconds(), r.RequestsPerSec(), r.Errors, r.Server, r.Client)
	if r.Error != "" {
		s += "\n  first error: " + r.Error
	}
	return s
}

// deliveryRequests builds n distinct /deliver bodies (canonical proto
// JSON) of the bench's users and items, each with the given number of
// insertions in retrieval order and two properties per insertion.
func deliveryRequests(o LoadOpts, n int) ([][]byte, error) {
	rng := rand.New(rand.NewPCG(o.Seed, 7))
	bodies := make([][]byte, n)
	for i := range bodies {
		u := rng.IntN(o.Users)
		req := &pb.Request{
			UserInfo:   &common.UserInfo{UserId: benchUser(u), AnonUserId: benchAnon(u)},
			ClientInfo: &common.ClientInfo{ClientType: common.ClientInfo_PLATFORM_SERVER, TrafficType: common.ClientInfo_PRODUCTION},
			UseCase:    pb.UseCase_FEED,
			Paging:     &pb.Paging{Size: 50, Starting: &pb.Paging_Offset{Offset: 0}},
		}
		first := rng.IntN(o.Items)
		for k := range o.Insertions {
			item := (first + k*7919) % o.Items
			rank := uint64(k)
			props, err := structpb.NewStruct(map[string]any{"category": benchCategory(item), "price": float64(10 + item%90)})
			if err != nil {
				return nil, err
			}
			req.Insertion = append(req.Insertion, &pb.Insertion{
				ContentId:     benchItem(item),
				RetrievalRank: &rank,
				Properties:    &common.Properties{StructField: &common.Properties_Struct{Struct: props}},
			})
		}
		b, err := protojson.Marshal(req)
		if err != nil {
			return nil, err
		}
		bodies[i] = b
	}
	return bodies, nil
}

// DeliveryLoad runs one load phase and reports it.
func DeliveryLoad(ctx context.Context, o LoadOpts) (*LoadReport, error) {
	bodies, err := deliveryRequests(o, 64)
	if err != nil {
		return nil, err
	}
	tr := &http.Transport{MaxIdleConnsPerHost: o.Concurrency + 8, DisableCompression: true}
	c := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	defer tr.CloseIdleConnections()
	l := &loader{o: o, c: c, bodies: bodies}
	// Warm up connections and the server's caches, unmeasured.
	for i := range 2 * o.Concurrency {
		l.send(ctx, i, time.Now(), false)
	}
	start := time.Now()
	if o.Rate > 0 {
		l.atRate(ctx, start)
	} else {
		l.closedLoop(ctx, start)
	}
	r := &LoadReport{Opts: o, Requests: len(l.client), Errors: l.errors, Error: l.firstErr, Elapsed: time.Since(start)}
	r.Server, r.Client = latencies(l.server), latencies(l.client)
	return r, nil
}

type loader struct {
	o      LoadOpts
	c      *http.Client
	bodies [][]byte

	mu       sync.Mutex
	server   []time.Duration
	client   []time.Duration
	errors   int
	firstErr string
}

func (l *loader) closedLoop(ctx context.Context, start time.Time) {
	end := start.Add(l.o.Duration)
	var wg sync.WaitGroup
	for w := range l.o.Concurrency {
		wg.Go(func() {
			for i := w; time.Now().Before(end) && ctx.Err() == nil; i += l.o.Concurrency {
				l.send(ctx, i, time.Now(), true)
			}
		})
	}
	wg.Wait()
}

// atRate sends request i when it is due (start + i/rate) through a pool
// of workers; a request that waits for a worker counts its wait.
func (l *loader) atRate(ctx context.Context, start time.Time) {
	total := int(l.o.Duration.Seconds() * float64(l.o.Rate))
	due := make(chan int, total)
	var wg sync.WaitGroup
	for range max(l.o.Concurrency, 64) {
		wg.Go(func() {
			for i := range due {
				l.send(ctx, i, start.Add(time.Duration(i)*time.Second/time.Duration(l.o.Rate)), true)
			}
		})
	}
	for i := range total {
		at := start.Add(time.Duration(i) * time.Second / time.Duration(l.o.Rate))
		if d := time.Until(at); d > 0 {
			time.Sleep(d)
		}
		if ctx.Err() != nil {
			break
		}
		due <- i
	}
	close(due)
	wg.Wait()
}

func (l *loader) send(ctx context.Context, i int, due time.Time, record bool) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, l.o.URL+"/deliver", bytes.NewReader(l.bodies[i%len(l.bodies)]))
	if err != nil {
		l.fail(err)
		return
	}
	req.Header.Set("Content-Type", "application/json")
	if l.o.APIKey != "" {
		req.Header.Set("x-api-key", l.o.APIKey)
	}
	resp, err := l.c.Do(req)
	if err != nil {
		l.fail(err)
		return
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	took := time.Since(due)
	switch {
	case err != nil:
		l.fail(err)
		return
	case resp.StatusCode != http.StatusOK:
		l.fail(fmt.Errorf("status %d: %.200s", resp.StatusCode, body))
		return
	}
	server, ok := serverTiming(resp.Header.Get("Server-Timing"))
	if !ok {
		l.fail(fmt.Errorf("no Server-Timing dur in the answer"))
		return
	}
	if !record {
		return
	}
	l.mu.Lock()
	l.server = append(l.server, server)
	l.client = append(l.client, took)
	l.mu.Unlock()
}

func (l *loader) fail(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.errors++
	if l.firstErr == "" {
		l.firstErr = err.Error()
	}
}

// serverTiming reads the first dur= of a Server-Timing header, in ms.
func serverTiming(h string) (time.Duration, bool) {
	for part := range strings.SplitSeq(h, ";") {
		v, ok := strings.CutPrefix(strings.TrimSpace(part), "dur=")
		if !ok {
			continue
		}
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return 0, false
		}
		return time.Duration(f * float64(time.Millisecond)), true
	}
	return 0, false
}

// decodeLoadReport reads the JSON report the load process printed.
func decodeLoadReport(b []byte) (*LoadReport, error) {
	var r LoadReport
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("the load process printed %.200q: %w", b, err)
	}
	return &r, nil
}

func benchUser(u int) string     { return "user-" + strconv.Itoa(u) }
func benchAnon(u int) string     { return "anon-" + strconv.Itoa(u) }
func benchItem(i int) string     { return "item-" + strconv.Itoa(i) }
func benchCategory(i int) string { return "cat-" + strconv.Itoa(i%benchCategories) }

const benchCategories = 20
