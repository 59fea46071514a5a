package privacy

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"
)

// Callback is the body of a status callback (§8.6).
type Callback struct {
	ControllerID           string `json:"controller_id"`
	ExpectedCompletionTime string `json:"expected_completion_time"`
	StatusCallbackURL      string `json:"status_callback_url"`
	SubjectRequestID       string `json:"subject_request_id"`
	RequestStatus          string `json:"request_status"`
	APIVersion             string `json:"api_version"`
	ResultsURL             string `json:"results_url,omitempty"`
	ResultsCount           *int   `json:"results_count,omitempty"`
}

// notify sends the callbacks of the request's status to each of its
// status_callback_urls, then records the status as notified. A callback
// that fails after every attempt is logged and given up: the controller
// can still poll the status.
func (s *Service) notify(ctx context.Context, r *record, log *slog.Logger) error {
	if len(r.CallbackURLs) > 0 {
		st, err := s.Get(ctx, r.ID)
		if err != nil {
			return err
		}
		for _, u := range r.CallbackURLs {
			cb := Callback{ControllerID: s.opts.ControllerID, ExpectedCompletionTime: st.ExpectedCompletionTime,
				StatusCallbackURL: u, SubjectRequestID: r.ID, RequestStatus: r.Status, APIVersion: APIVersion,
				ResultsURL: st.ResultsURL, ResultsCount: st.ResultsCount}
			if err := s.callback(ctx, u, &cb); err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				log.Error("privacy callback failed, given up", "subject_request_id", r.ID, "status", r.Status,
					"url", u, "attempts", s.opts.CallbackAttempts, "error", err)
				continue
			}
			log.Info("privacy callback sent", "subject_request_id", r.ID, "status", r.Status, "url", u)
		}
	}
	_, err := exec(ctx, s.opts.DB, s.opts.DB.Query("PrivacyRequestNotified"), r.ID, r.Status)
	return err
}

// callback posts one signed callback, retrying with a doubling pause.
func (s *Service) callback(ctx context.Context, u string, cb *Callback) error {
	body, err := json.Marshal(cb)
	if err != nil {
		return err
	}
	pause := s.opts.CallbackBackoff
	for attempt := 1; ; attempt++ {
		err = s.post(ctx, u, body)
		if err == nil || attempt >= s.opts.CallbackAttempts {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(pause):
		}
		pause *= 2
	}
}

func (s *Service) post(ctx context.Context, u string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if err := s.SignHeaders(ctx, req.Header, body); err != nil {
		return err
	}
	resp, err := s.opts.HTTPClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("answered %s", resp.Status)
	}
	return nil
}
