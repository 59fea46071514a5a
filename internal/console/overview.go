package console

import (
	"net/http"

	"github.com/weftdata/weft/internal/keys"
)

func (c *Console) overviewRoutes() {
	c.page(keys.ScopeRead, "GET "+Prefix+"{$}", c.overview)
	c.addNav("Overview", Prefix, nil)
}

// overview is GET /console/: the state of the store at a glance.
func (c *Console) overview(w http.ResponseWriter, r *http.Request, s *Session) {
	st, err := c.cfg.Store.Stats(r.Context())
	if err != nil {
		c.fail(w, r, s, http.StatusInternalServerError, "The store's figures could not be read: "+err.Error())
		return
	}
	c.show(w, r, s, "overview", "Overview", st)
}
