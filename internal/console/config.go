package console

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/weftdata/weft/internal/audit"
	"github.com/weftdata/weft/internal/config"
	"github.com/weftdata/weft/internal/keys"
	"github.com/weftdata/weft/internal/pipeline"
	"github.com/weftdata/weft/internal/store"
)

// The config pages are admin's: the document holds keys and secrets
// (shown masked, as GET /v1/config shows them).
func (c *Console) configRoutes() {
	c.page(keys.ScopeAdmin, "GET "+Prefix+"config", c.configPage)
	c.action(keys.ScopeAdmin, "POST "+Prefix+"config/validate", "", c.configValidate)
	c.action(keys.ScopeAdmin, "POST "+Prefix+"config", "config.apply", c.configApply)
	c.page(keys.ScopeAdmin, "GET "+Prefix+"config/history", c.configHistory)
	c.page(keys.ScopeAdmin, "GET "+Prefix+"config/history/{version}", c.configVersion)
	c.addNav("Config", Prefix+"config", nil)
}

// configView is what the config page shows: the version in force and the
// document in the editor (the one in force, or the one just posted), with
// the verdict of a validate or apply.
type configView struct {
	Version *versionInfo
	Doc     string
	// Lines numbers the editor's gutter; Bad marks the lines with an error.
	Lines []editorLine
	// Checked: the document was validated (Errors empty: it is valid).
	Checked  bool
	Errors   []problem
	Warnings []problem
	// Applied is the version just applied.
	Applied int64
}

type editorLine struct {
	N   int
	Bad bool
}

// versionInfo is a version of the history: when and by whom it was
// applied (Who empty when the audit trail does not say: applied at
// start-up, or before the trail).
type versionInfo struct {
	Version   int64
	AppliedAt time.Time
	Who       string
}

// configPage is GET /console/config: the weft.yaml in force, masked, in
// the editor.
func (c *Console) configPage(w http.ResponseWriter, r *http.Request, s *Session) {
	v, err := c.inForce(r.Context())
	if err != nil {
		c.fail(w, r, s, http.StatusInternalServerError, "The config in force could not be read: "+err.Error())
		return
	}
	if n, err := strconv.ParseInt(r.URL.Query().Get("applied"), 10, 64); err == nil {
		v.Applied = n
	}
	c.showConfig(w, r, s, http.StatusOK, v)
}

// inForce is the config page of the document in force.
func (c *Console) inForce(ctx context.Context) (*configView, error) {
	stored, _, err := c.cfg.Pipeline.Config(ctx)
	if err != nil {
		return nil, err
	}
	v := &configView{}
	if stored.Version == 0 {
		return v, nil
	}
	doc, err := config.MaskDocument([]byte(stored.Body))
	if err != nil {
		return nil, fmt.Errorf("mask the config in force: %w", err)
	}
	v.Doc = string(doc)
	who, err := c.appliedBy(ctx)
	if err != nil {
		return nil, err
	}
	v.Version = &versionInfo{stored.Version, stored.AppliedAt, who[stored.Version]}
	return v, nil
}

func (c *Console) showConfig(w http.ResponseWriter, r *http.Request, s *Session, status int, v *configView) {
	bad := map[int]bool{}
	for _, p := range v.Errors {
		bad[p.Line] = true
	}
	n := strings.Count(v.Doc, "\n") + 1
	v.Lines = make([]editorLine, n)
	for i := range v.Lines {
		v.Lines[i] = editorLine{i + 1, bad[i+1]}
	}
	c.render(w, r, status, "config", &View{Title: "Config", Session: s, Data: v})
}

// configValidate is POST /console/config/validate {doc}: every check of
// an apply, nothing applied (pipeline.Validate).
func (c *Console) configValidate(w http.ResponseWriter, r *http.Request, s *Session) {
	c.checkPosted(w, r, s, false)
}

// configApply is POST /console/config {doc}: the document put in force,
// as PUT /v1/config does (masked values keep the values in force), then
// back to the page; a refused document comes back with its errors.
func (c *Console) configApply(w http.ResponseWriter, r *http.Request, s *Session) {
	c.checkPosted(w, r, s, true)
}

// checkPosted validates, or applies, the posted document and answers
// with the page: 400 and the errors at their lines when it is refused.
func (c *Console) checkPosted(w http.ResponseWriter, r *http.Request, s *Session, apply bool) {
	ctx := r.Context()
	// Browsers send a textarea's lines ended by CRLF.
	posted := strings.ReplaceAll(r.PostForm.Get("doc"), "\r\n", "\n")
	v, err := c.inForce(ctx)
	if err != nil {
		c.fail(w, r, s, http.StatusInternalServerError, "The config in force could not be read: "+err.Error())
		return
	}
	v.Doc, v.Checked = posted, true
	var warnings []string
	doc, err := c.cfg.Pipeline.Unmask(ctx, []byte(posted))
	if err == nil {
		if apply {
			var applied *pipeline.Applied
			if applied, err = c.applyDoc(ctx, doc); err == nil && len(applied.Warnings) == 0 {
				http.Redirect(w, r, Prefix+"config?applied="+strconv.FormatInt(applied.Version, 10), http.StatusSeeOther)
				return
			}
			if err == nil { // applied, with warnings to show beside the new version
				if v, err = c.inForce(ctx); err == nil {
					v.Applied, warnings = applied.Version, applied.Warnings
				}
			}
		} else {
			warnings, err = c.cfg.Pipeline.Validate(ctx, doc)
		}
	}
	var cfgErr *config.Error
	if err != nil && !errors.As(err, &cfgErr) {
		c.fail(w, r, s, http.StatusInternalServerError, "The config could not be checked: "+err.Error())
		return
	}
	for _, msg := range warnings {
		v.Warnings = append(v.Warnings, locate([]byte(v.Doc), msg)...)
	}
	status := http.StatusOK
	if err != nil {
		status = http.StatusBadRequest
		v.Errors = c.errorsAt(posted, doc, err)
	}
	c.showConfig(w, r, s, status, v)
}

// applyDoc puts a document in force and names the version in the audit
// entry, in the words of PUT /v1/config's.
func (c *Console) applyDoc(ctx context.Context, doc []byte) (*pipeline.Applied, error) {
	applied, err := c.cfg.Pipeline.Apply(ctx, doc)
	if err != nil {
		return nil, err
	}
	audit.Summarize(ctx, appliedSummary, applied.Version)
	return applied, nil
}

// appliedSummary is the audit summary of an apply, the API's and the
// console's; appliedBy reads the version back from it.
const appliedSummary = "applied config version %d"

var appliedVersionRE = regexp.MustCompile(`^applied config version (\d+)$`)

// errorsAt places an error about the posted document at its lines. Lines
// the parser names are those of the document it read: when unmasking
// rewrote the document, the posted one is parsed again for its own.
func (c *Console) errorsAt(posted string, parsed []byte, err error) []problem {
	msg := err.Error()
	if lineRef.MatchString(msg) && parsed != nil && !bytes.Equal(parsed, []byte(posted)) {
		if _, perr := config.Parse([]byte(posted)); perr != nil && lineRef.MatchString(perr.Error()) {
			msg = perr.Error()
		}
	}
	return locate([]byte(posted), msg)
}

// appliedBy reads from the audit trail who applied each version (the
// newest applies, at most audit.ListLimitMax).
func (c *Console) appliedBy(ctx context.Context) (map[int64]string, error) {
	who := map[int64]string{}
	if c.cfg.Audit == nil {
		return who, nil
	}
	entries, err := c.cfg.Audit.List(ctx, audit.ListParams{Action: "config.apply", Limit: audit.ListLimitMax})
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		m := appliedVersionRE.FindStringSubmatch(e.Summary)
		if m == nil || e.Status >= http.StatusBadRequest {
			continue
		}
		n, _ := strconv.ParseInt(m[1], 10, 64)
		if _, seen := who[n]; !seen {
			who[n] = e.KeyName
		}
	}
	return who, nil
}

// historyPage is how many versions the history shows at once.
const historyPage = 50

// historyView is the history page: a page of versions, newest first.
type historyView struct {
	Versions []versionInfo
	// Older is the ?before= of the next page, 0 when none.
	Older int64
}

// configHistory is GET /console/config/history[?before=N]: the applied
// versions, newest first, by pages.
func (c *Console) configHistory(w http.ResponseWriter, r *http.Request, s *Session) {
	before, _ := strconv.ParseInt(r.URL.Query().Get("before"), 10, 64)
	list, err := c.cfg.Store.ConfigVersionList(r.Context(), store.ConfigVersionListParams{Before: before, Limit: historyPage + 1})
	if err == nil {
		var who map[int64]string
		if who, err = c.appliedBy(r.Context()); err == nil {
			c.show(w, r, s, "config_history", "Config history", historyOf(list, who))
			return
		}
	}
	c.fail(w, r, s, http.StatusInternalServerError, "The config history could not be read: "+err.Error())
}

func historyOf(list []store.StoredConfig, who map[int64]string) *historyView {
	h := &historyView{}
	if len(list) > historyPage {
		list = list[:historyPage]
		h.Older = list[historyPage-1].Version
	}
	for _, sc := range list {
		h.Versions = append(h.Versions, versionInfo{sc.Version, sc.AppliedAt, who[sc.Version]})
	}
	return h
}

// versionView is a version of the config with its diff against the one
// before it, both masked.
type versionView struct {
	versionInfo
	Previous int64
	Diff     []diffLine
	Added    int
	Removed  int
}

// configVersion is GET /console/config/history/{version}: what the version
// changed, as a line diff against the version before.
func (c *Console) configVersion(w http.ResponseWriter, r *http.Request, s *Session) {
	n, err := strconv.ParseInt(r.PathValue("version"), 10, 64)
	if err != nil || n < 1 {
		c.fail(w, r, s, http.StatusNotFound, "There is no config version "+r.PathValue("version")+".")
		return
	}
	v, err := c.versionDiff(r.Context(), n)
	switch {
	case errors.Is(err, store.ErrNotFound):
		c.fail(w, r, s, http.StatusNotFound, fmt.Sprintf("There is no config version %d.", n))
	case err != nil:
		c.fail(w, r, s, http.StatusInternalServerError, "The config version could not be read: "+err.Error())
	default:
		c.show(w, r, s, "config_version", fmt.Sprintf("Config version %d", n), v)
	}
}

func (c *Console) versionDiff(ctx context.Context, n int64) (*versionView, error) {
	sc, cur, err := c.maskedVersion(ctx, n)
	if err != nil {
		return nil, err
	}
	var prev string
	if n > 1 {
		if _, prev, err = c.maskedVersion(ctx, n-1); err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
	}
	who, err := c.appliedBy(ctx)
	if err != nil {
		return nil, err
	}
	lines := diffLines(prev, cur)
	v := &versionView{versionInfo: versionInfo{n, sc.AppliedAt, who[n]}, Diff: hunks(lines)}
	if n > 1 {
		v.Previous = n - 1
	}
	for _, l := range lines {
		switch l.Op {
		case '+':
			v.Added++
		case '-':
			v.Removed++
		}
	}
	return v, nil
}

// maskedVersion is a version's document with its keys and secrets masked.
func (c *Console) maskedVersion(ctx context.Context, n int64) (*store.StoredConfig, string, error) {
	sc, err := c.cfg.Store.ConfigVersionGet(ctx, n)
	if err != nil {
		return nil, "", err
	}
	doc, err := config.MaskDocument([]byte(sc.Body))
	if err != nil {
		return nil, "", fmt.Errorf("mask config version %d: %w", n, err)
	}
	return sc, string(doc), nil
}
