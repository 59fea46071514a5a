package destination

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"math"
	"strconv"
	"strings"
	"time"
)

// The headers of a webhook request.
const (
	// HeaderIdempotencyKey is the same for every send of one batch:
	// <destination>:<first seq>-<last seq> for segment changes,
	// <destination>:profiles:<digest> for changed profiles.
	HeaderIdempotencyKey = "Idempotency-Key"
	// HeaderTimestamp is the Unix time of the send, in seconds.
	HeaderTimestamp = "Weft-Timestamp"
	// HeaderSignature is v1=<hex HMAC-SHA256 of "<timestamp>.<body>">,
	// keyed with the secret's key field.
	HeaderSignature = "Weft-Signature"
	// HeaderDestination names the destination.
	HeaderDestination = "Weft-Destination"
)

// SecretField is the field of the secret record that holds the HMAC key.
const SecretField = "key"

// Sign is the signature header's value for a body sent at a time.
func Sign(key []byte, timestamp int64, body []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(strconv.FormatInt(timestamp, 10)))
	m.Write([]byte{'.'})
	m.Write(body)
	return "v1=" + hex.EncodeToString(m.Sum(nil))
}

// Errors of Verify.
var (
	ErrBadSignature = errors.New("signature does not match")
	ErrStale        = errors.New("timestamp outside the tolerance")
)

// Verify checks a request's timestamp and signature headers against its
// body, as a receiver does: the signature must match and the timestamp be
// within tolerance of now (replays of old requests are refused).
func Verify(key []byte, timestamp, signature string, body []byte, now time.Time, tolerance time.Duration) error {
	ts, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return ErrStale
	}
	if math.Abs(float64(now.Unix()-ts)) > tolerance.Seconds() {
		return ErrStale
	}
	want := Sign(key, ts, body)
	for _, s := range strings.Split(signature, ",") {
		if hmac.Equal([]byte(strings.TrimSpace(s)), []byte(want)) {
			return nil
		}
	}
	return ErrBadSignature
}
