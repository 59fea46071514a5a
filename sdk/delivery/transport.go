package delivery

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// maxIdleConnsPerHost keeps every connection the warmup opens (Go's
// default keeps 2, which would close 18 of the 20 right away).
const maxIdleConnsPerHost = warmupRequests

// maxResponseBytes bounds what is read from a response, so a broken server
// cannot make the SDK buffer without limit.
const maxResponseBytes = 32 << 20

// HTTPError is a response outside 2xx from the Delivery or Metrics API.
type HTTPError struct {
	Method     string
	URL        string
	StatusCode int
	// Body is the start of the response body, for the log.
	Body string
}

func (e *HTTPError) Error() string {
	return fmt.Sprintf("%s %s: %d %s: %s", e.Method, e.URL, e.StatusCode, http.StatusText(e.StatusCode), e.Body)
}

// newTransport returns a transport with a pool large enough for warmup.
// Compression is off so that Accept-Encoding is sent only when the caller
// asked for gzip (Go's transport would otherwise always add it).
func newTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = maxIdleConnsPerHost
	t.DisableCompression = true
	return t
}

// httpSender makes the SDK's HTTP calls: one timeout per call, the API key
// in x-api-key, and the whole body read so the connection can be reused.
type httpSender struct {
	client     *http.Client
	apiKey     string
	timeout    time.Duration
	acceptGzip bool
}

// postProto sends msg as canonical protojson (lowerCamel names, enum
// names), the JSON Promoted's Java client sends and its servers accept.
// It returns the body of a 2xx response.
func (s *httpSender) postProto(target string, msg proto.Message) ([]byte, error) {
	body, err := protojson.Marshal(msg)
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", msg.ProtoReflect().Descriptor().FullName(), err)
	}
	return s.do(http.MethodPost, target, body, s.timeout)
}

func (s *httpSender) do(method, target string, body []byte, timeout time.Duration) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, target, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("x-api-key", s.apiKey)
	if s.acceptGzip {
		req.Header.Set("Accept-Encoding", "gzip")
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	respBody, err := readBody(resp)
	if err != nil {
		return nil, fmt.Errorf("%s %s: read response: %w", method, target, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, &HTTPError{Method: method, URL: target, StatusCode: resp.StatusCode, Body: excerpt(respBody)}
	}
	return respBody, nil
}

// readBody reads the whole body, gunzipping it when the server says so
// (the transport leaves that to us because compression is off).
func readBody(resp *http.Response) ([]byte, error) {
	var r io.Reader = resp.Body
	if resp.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(resp.Body)
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		defer zr.Close()
		r = zr
	}
	body, err := io.ReadAll(io.LimitReader(r, maxResponseBytes+1))
	if err != nil {
		return nil, err
	}
	if len(body) > maxResponseBytes {
		return nil, fmt.Errorf("body exceeds %d bytes", maxResponseBytes)
	}
	return body, nil
}

func excerpt(body []byte) string {
	const maxLen = 200
	if len(body) > maxLen {
		return string(body[:maxLen]) + "..."
	}
	return string(body)
}

// parseEndpoint accepts only absolute http(s) URLs; name says which
// setting was wrong.
func parseEndpoint(name, endpoint string) (*url.URL, error) {
	u, err := url.Parse(endpoint)
	if err != nil {
		return nil, fmt.Errorf("%s %q: %w", name, endpoint, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%s %q: want an absolute http or https URL", name, endpoint)
	}
	return u, nil
}

// millis turns a configured timeout into a duration, using def for <= 0.
func millis(timeoutMillis, def int64) time.Duration {
	return time.Duration(positiveOr(timeoutMillis, def)) * time.Millisecond
}
