package destination

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/weftdata/weft/internal/clip"
)

// Backoff between the attempts of one batch: BackoffBase doubled per
// attempt up to BackoffMax, with jitter (half fixed, half random), unless
// the answer says when to come back (Retry-After, at most RetryAfterMax).
const (
	BackoffBase   = 500 * time.Millisecond
	BackoffMax    = time.Minute
	RetryAfterMax = 10 * time.Minute
)

// answerMax is how much of an answer's body a dead letter keeps.
const answerMax = 4 << 10

// outcome is how a batch ended: delivered (2xx) or refused for good.
type outcome struct {
	Status   int
	Answer   string
	Refused  bool // a 4xx other than 429, or a redirect: dead letter
	Attempts int
}

// sender POSTs batches to one webhook.
type sender struct {
	d        *Definition
	key      []byte
	client   *http.Client
	timeout  time.Duration
	attempts int
	interval time.Duration // between requests, from the rate limit
	next     time.Time     // the earliest start of the next request
	now      func() time.Time
	sleep    func(ctx context.Context, d time.Duration) error
}

func newSender(d *Definition, key []byte, client *http.Client, now func() time.Time) (*sender, error) {
	timeout, err := d.timeout()
	if err != nil {
		return nil, err
	}
	s := &sender{d: d, key: key, client: client, timeout: timeout, attempts: d.maxAttempts(), now: now, sleep: sleepCtx}
	if d.RateLimit > 0 {
		s.interval = time.Duration(float64(time.Second) / d.RateLimit)
	}
	return s, nil
}

// newHTTPClient is a client that follows no redirects: a receiver that
// moved answers 3xx, which dead-letters the batch rather than POSTing it
// somewhere else.
func newHTTPClient() *http.Client {
	return &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// send POSTs body until the receiver takes it (2xx) or refuses it for
// good; after the attempts it returns an error naming the last failure.
// Every attempt carries the same idempotency key and a fresh signature.
func (s *sender) send(ctx context.Context, idemKey string, body []byte) (*outcome, error) {
	var last string
	for attempt := 1; attempt <= s.attempts; attempt++ {
		status, answer, retryAfter, err := s.post(ctx, idemKey, body)
		switch {
		case err == nil && status >= 200 && status < 300:
			return &outcome{Status: status, Answer: answer, Attempts: attempt}, nil
		case err == nil && !retryable(status):
			return &outcome{Status: status, Answer: answer, Refused: true, Attempts: attempt}, nil
		case ctx.Err() != nil:
			return nil, ctx.Err()
		case err != nil:
			last = err.Error()
		default:
			last = fmt.Sprintf("%d %s", status, clip.String(answer))
		}
		if attempt == s.attempts {
			break
		}
		wait := backoff(attempt)
		if retryAfter > 0 {
			wait = min(retryAfter, RetryAfterMax)
		}
		if err := s.sleep(ctx, wait); err != nil {
			return nil, err
		}
	}
	return nil, fmt.Errorf("batch %s: %d attempts failed, the last: %s", idemKey, s.attempts, last)
}

// retryable says whether an answer's status is worth another attempt.
func retryable(status int) bool {
	return status == http.StatusTooManyRequests || status >= 500
}

// backoff is the pause after a failed attempt (1, 2, ...): exponential,
// half of it random so that many senders do not come back at once.
func backoff(attempt int) time.Duration {
	d := BackoffBase << min(attempt-1, 20)
	if d > BackoffMax || d <= 0 {
		d = BackoffMax
	}
	return d/2 + rand.N(d/2+1)
}

// post makes one attempt: the answer's status and body (clipped), and
// the wait its Retry-After asks for (0 when none).
func (s *sender) post(ctx context.Context, idemKey string, body []byte) (int, string, time.Duration, error) {
	if s.interval > 0 {
		if err := s.sleep(ctx, s.next.Sub(s.now())); err != nil {
			return 0, "", 0, err
		}
		s.next = s.now().Add(s.interval)
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.d.URL, bytes.NewReader(body))
	if err != nil {
		return 0, "", 0, err
	}
	ts := s.now().Unix()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "weft-destination")
	req.Header.Set(HeaderIdempotencyKey, idemKey)
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
	req.Header.Set(HeaderSignature, Sign(s.key, ts, body))
	req.Header.Set(HeaderDestination, s.d.ID)
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, "", 0, err
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, answerMax))
	if err == nil {
		_, err = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20)) // let the connection be reused
	}
	if err != nil && resp.StatusCode >= 200 && resp.StatusCode < 300 {
		// Taken, but the answer broke off: the batch may not be, so it
		// is sent again under the same key.
		return 0, "", 0, fmt.Errorf("read the answer: %w", err)
	}
	return resp.StatusCode, clip.Max(string(answer), answerMax), retryAfter(resp.Header.Get("Retry-After"), s.now()), nil
}

// retryAfter reads a Retry-After header: seconds, or an HTTP date.
func retryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n < 0 {
			return 0
		}
		return min(time.Duration(n)*time.Second, RetryAfterMax)
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0)
	}
	return 0
}

// errNoKey is a secret without its key field.
var errNoKey = errors.New("has no field " + SecretField + " (the HMAC key)")
