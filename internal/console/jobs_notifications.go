package console

import (
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/weftdata/weft/internal/store"
	"github.com/weftdata/weft/job"
)

// notificationLevels are the levels the notifications page filters by.
var notificationLevels = []string{string(job.LevelInfo), string(job.LevelSuccess), string(job.LevelWarn), string(job.LevelError)}

// notificationsShown is how many notifications the page shows.
const notificationsShown = 100

type notificationsData struct {
	Level, Job    string
	Levels        []string
	Notifications []store.Notification
}

// notifications is GET /console/notifications?level=&job=: the activity
// log, newest first, as GET /v1/notifications.
func (c *Console) notifications(w http.ResponseWriter, r *http.Request, s *Session) {
	q := r.URL.Query()
	d := notificationsData{Level: strings.ToLower(q.Get("level")), Job: q.Get("job"), Levels: notificationLevels}
	if !c.oneOf(w, r, s, "level", d.Level, notificationLevels) {
		return
	}
	notes, err := c.cfg.Store.NotificationList(r.Context(), d.Level, d.Job, notificationsShown)
	if err != nil {
		c.fail(w, r, s, http.StatusInternalServerError, "The notifications could not be read: "+err.Error())
		return
	}
	d.Notifications = notes
	c.show(w, r, s, "notifications", "Notifications", d)
}

// oneOf checks a filter of a list page: blank, or one of allowed; else it
// answers 400 naming them.
func (c *Console) oneOf(w http.ResponseWriter, r *http.Request, s *Session, what, value string, allowed []string) bool {
	if value == "" || slices.Contains(allowed, value) {
		return true
	}
	c.fail(w, r, s, http.StatusBadRequest, fmt.Sprintf("The %s %q is not one of %s.", what, value, strings.Join(allowed, ", ")))
	return false
}
