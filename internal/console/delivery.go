package console

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/google/uuid"

	"github.com/weftdata/weft/internal/audit"
	"github.com/weftdata/weft/internal/delivery"
	"github.com/weftdata/weft/internal/keys"
)

// The delivery playground sends a /deliver request for a chosen user
// through the delivery service, as POST /deliver does, and shows the
// ranking with each insertion's score parts. It needs the delivery scope:
// like any delivery, it is appended to the event log as a delivery_log
// event.
func (c *Console) deliveryRoutes() {
	c.page(keys.ScopeRead, "GET "+Prefix+"delivery", c.deliveryForm)
	c.action(keys.ScopeDelivery, "POST "+Prefix+"delivery", "console.delivery.deliver", c.deliver)
	c.addNav("Delivery", Prefix+"delivery", c.deliveryConfigured)
}

// deliveryConfigured: the config in force has a delivery section with use
// cases, so the playground has rules to show.
func (c *Console) deliveryConfigured(r *http.Request) bool {
	if c.cfg.Delivery == nil {
		return false
	}
	_, cfg, err := c.cfg.Pipeline.Config(r.Context())
	return err == nil && len(cfg.Delivery.UseCases) > 0
}

// deliveryExample are the insertions the form starts with.
const deliveryExample = `[
  {"contentId": "item-1", "properties": {"struct": {"category": "shoes"}}},
  {"contentId": "item-2", "properties": {"struct": {"category": "books"}}},
  {"contentId": "item-3", "retrievalRank": "0"}
]`

// deliveryData is the playground: the request as written and its answer.
type deliveryData struct {
	UserID, AnonUserID, UseCase, Insertions string
	// Answered: RequestID and Ranking are the answer.
	Answered  bool
	RequestID string
	Ranking   delivery.Introspection
	Error     string
}

// deliveryForm is GET /console/delivery.
func (c *Console) deliveryForm(w http.ResponseWriter, r *http.Request, s *Session) {
	if c.cfg.Delivery == nil {
		c.fail(w, r, s, http.StatusNotFound, "There is no page at "+r.URL.Path+": this server has no Delivery API.")
		return
	}
	c.show(w, r, s, "delivery", "Delivery", deliveryData{Insertions: deliveryExample})
}

// deliver is POST /console/delivery {user_id, anon_user_id, use_case,
// insertions, csrf_token}: the request is sent with introspection asked
// for, and its ranking shown.
func (c *Console) deliver(w http.ResponseWriter, r *http.Request, s *Session) {
	if c.cfg.Delivery == nil {
		c.fail(w, r, s, http.StatusNotFound, "There is no page at "+r.URL.Path+": this server has no Delivery API.")
		return
	}
	f := r.PostForm
	d := deliveryData{UserID: strings.TrimSpace(f.Get("user_id")), AnonUserID: strings.TrimSpace(f.Get("anon_user_id")),
		UseCase: strings.TrimSpace(f.Get("use_case")), Insertions: f.Get("insertions")}
	status := http.StatusOK
	if err := d.send(r, c.cfg.Delivery); err != nil {
		var reqErr *delivery.RequestError
		if !errors.As(err, &reqErr) && !errors.Is(err, errInsertions) {
			c.fail(w, r, s, http.StatusInternalServerError, "The delivery failed: "+err.Error())
			return
		}
		d.Error, status = err.Error(), http.StatusBadRequest
	}
	audit.Summarize(r.Context(), "delivery for user %q (anonymous %q): %d insertions ranked", d.UserID, d.AnonUserID, len(d.Ranking.Insertions))
	c.render(w, r, status, "delivery", &View{Title: "Delivery", Session: s, Data: d})
}

var errInsertions = errors.New("insertions: want a JSON array of insertions as POST /deliver takes them")

// send builds the /deliver request of the form and reads the ranking
// from the answer's introspection data.
func (d *deliveryData) send(r *http.Request, svc *delivery.Service) error {
	ins := json.RawMessage(strings.TrimSpace(d.Insertions))
	if !json.Valid(ins) || len(ins) == 0 || ins[0] != '[' {
		return errInsertions
	}
	// A paging context of its own: the playground's requests neither
	// move the pages the user's real requests see nor keep the positions
	// of an earlier try.
	req := map[string]any{"insertion": ins, "paging": map[string]string{"pagingId": "console-" + uuid.NewString()},
		"userInfo": map[string]string{"userId": d.UserID, "anonUserId": d.AnonUserID}}
	if d.UseCase != "" {
		req["useCase"] = d.UseCase
	}
	body, err := json.Marshal(req)
	if err != nil {
		return err
	}
	out, err := svc.Deliver(r.Context(), body, delivery.DeliverOpts{Introspect: true})
	if err != nil {
		return err
	}
	var resp struct {
		RequestID         string `json:"requestId"`
		IntrospectionData string `json:"introspectionData"`
	}
	if err := json.Unmarshal(out, &resp); err != nil {
		return fmt.Errorf("read the answer: %w", err)
	}
	if err := json.Unmarshal([]byte(resp.IntrospectionData), &d.Ranking); err != nil {
		return fmt.Errorf("read the introspection data: %w", err)
	}
	d.Answered, d.RequestID = true, resp.RequestID
	return nil
}
