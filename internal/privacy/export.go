package privacy

import (
	"bufio"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"

	"github.com/weftdata/weft/internal/store"
)

// The files of an export, under <subject_request_id>/ in the export
// folder.
const (
	DocumentFile = "profile.json"
	EventsFile   = "events.ndjson"
)

// ExportPathPrefix is where export URLs live: outside the API keys, each
// URL carrying its own signature (/privacy/exports/<id>/<file>/<expiry>/<signature>).
const ExportPathPrefix = "/privacy/exports/"

// Export URL errors.
var (
	// ErrBadSignature is an export URL whose signature does not match.
	ErrBadSignature = errors.New("invalid export URL signature: the URL was changed or comes from another server; use the URL of GET /v1/privacy/requests/{id} as is")
	// ErrNoExport is a correctly signed URL of an export that is gone.
	ErrNoExport = errors.New("this export no longer exists")
)

// ExpiredError is a correctly signed export URL past its expiry.
type ExpiredError struct{ At time.Time }

func (e *ExpiredError) Error() string {
	return fmt.Sprintf("this export URL expired at %s: GET /v1/privacy/requests/{id} gives a fresh one", stamp(e.At))
}

// exportMAC signs what an export URL grants: one file of one request
// until an expiry.
func exportMAC(key []byte, id, file string, exp int64) []byte {
	m := hmac.New(sha256.New, key)
	fmt.Fprintf(m, "weft-privacy-export-v1\n%s\n%s\n%d", id, file, exp)
	return m.Sum(nil)
}

func (s *Service) exportURL(ctx context.Context, id, file string, exp time.Time) (string, error) {
	sg, err := s.signer(ctx)
	if err != nil {
		return "", err
	}
	sig := base64.RawURLEncoding.EncodeToString(exportMAC(sg.urlKey, id, file, exp.Unix()))
	return fmt.Sprintf("%s%s%s/%s/%d/%s", s.opts.BaseURL, ExportPathPrefix, id, file, exp.Unix(), sig), nil
}

// OpenExport checks an export URL's parts and opens its file: ErrBadSignature,
// an *ExpiredError or ErrNoExport when it may not or cannot be read.
func (s *Service) OpenExport(ctx context.Context, id, file, exp, sig string) (io.ReadCloser, error) {
	sg, err := s.signer(ctx)
	if err != nil {
		return nil, err
	}
	at, err := strconv.ParseInt(exp, 10, 64)
	if err != nil {
		return nil, ErrBadSignature
	}
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(got, exportMAC(sg.urlKey, id, file, at)) {
		return nil, ErrBadSignature
	}
	if !s.opts.Now().Before(time.Unix(at, 0)) {
		return nil, &ExpiredError{At: time.Unix(at, 0)}
	}
	rd, err := s.exports.NewReader(ctx, id+"/"+file, nil)
	if gcerrors.Code(err) == gcerrors.NotFound {
		return nil, ErrNoExport
	}
	return rd, err
}

// Document is the JSON document of an access or portability export.
type Document struct {
	SubjectRequestID   string     `json:"subject_request_id"`
	SubjectRequestType string     `json:"subject_request_type"`
	GeneratedTime      string     `json:"generated_time"`
	Identities         []Identity `json:"subject_identities"`
	// Profiles are the live entities found, each with what Weft holds
	// about it.
	Profiles []Profile `json:"profiles"`
	// EventsFile names the NDJSON file of the events, EventsCount counts
	// its lines.
	EventsFile  string `json:"events_file"`
	EventsCount int64  `json:"events_count"`
}

// Profile is one entity of an export.
type Profile struct {
	*store.Entity
	// Merges built the entity; MergedEntities are the entities merged
	// into it.
	Merges         []store.Merge `json:"merges"`
	MergedEntities []string      `json:"merged_entities"`
}

// export writes the document and the events of the live entities to the
// export folder; it returns the events written. Writing again (a resumed
// request) replaces the files.
func (s *Service) export(ctx context.Context, r *record, live []string) (int64, error) {
	db := s.opts.DB
	doc := Document{SubjectRequestID: r.ID, SubjectRequestType: r.Type, GeneratedTime: stamp(s.now()),
		Identities: r.Identities, Profiles: []Profile{}, EventsFile: EventsFile}
	attrs, err := db.AttributeValuesOf(ctx, live)
	if err != nil {
		return 0, err
	}
	props, err := db.PropertyValuesOf(ctx, live)
	if err != nil {
		return 0, err
	}
	segs, err := db.SegmentsOf(ctx, live)
	if err != nil {
		return 0, err
	}
	w, err := s.exports.NewWriter(ctx, r.ID+"/"+EventsFile, &blob.WriterOptions{ContentType: "application/x-ndjson"})
	if err != nil {
		return 0, fmt.Errorf("write export: %w", err)
	}
	for _, id := range live {
		p, n, err := s.profile(ctx, w, id)
		if err != nil {
			w.Close()
			return 0, err
		}
		// The attributes as stored (text), each a list of values.
		p.Attributes = map[string]any{}
		for k, v := range attrs[id] {
			p.Attributes[k] = v
		}
		p.Properties = props[id]
		// Every segment held, in force or not: what Weft holds of them.
		p.Segments = segs[id]
		if p.Segments == nil {
			p.Segments = []string{}
		}
		doc.Profiles = append(doc.Profiles, p)
		doc.EventsCount += n
	}
	if err := w.Close(); err != nil {
		return 0, fmt.Errorf("write export: %w", err)
	}
	body, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return 0, err
	}
	if err := s.exports.WriteAll(ctx, r.ID+"/"+DocumentFile, body, &blob.WriterOptions{ContentType: "application/json"}); err != nil {
		return 0, fmt.Errorf("write export: %w", err)
	}
	return doc.EventsCount, nil
}

// profile reads one live entity and appends its events, page by page, to
// w as NDJSON.
func (s *Service) profile(ctx context.Context, w io.Writer, id string) (Profile, int64, error) {
	db := s.opts.DB
	e, err := db.EntityGet(ctx, id)
	if err != nil {
		return Profile{}, 0, fmt.Errorf("read entity %s: %w", id, err)
	}
	merges, err := db.EntityMerges(ctx, id)
	if err != nil {
		return Profile{}, 0, err
	}
	p := Profile{Entity: e, Merges: merges, MergedEntities: []string{}}
	for _, m := range merges {
		p.MergedEntities = append(p.MergedEntities, m.Loser)
	}
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	var n, after int64
	for {
		evs, err := db.EntityEvents(ctx, &store.EntityEventsParams{ID: id, AfterSeq: after, Limit: store.EventListLimitMax})
		if err != nil {
			return Profile{}, 0, err
		}
		for i := range evs {
			if err := enc.Encode(&evs[i]); err != nil {
				return Profile{}, 0, err
			}
		}
		n += int64(len(evs))
		if len(evs) < store.EventListLimitMax {
			break
		}
		after = evs[len(evs)-1].Seq
	}
	return p, n, bw.Flush()
}

// validFile says whether a name is one of an export's files.
func validFile(name string) bool {
	return name == DocumentFile || name == EventsFile
}

// contentType is the type an export file is served with.
func contentType(file string) string {
	if strings.HasSuffix(file, ".ndjson") {
		return "application/x-ndjson"
	}
	return "application/json"
}

// ContentType is the type an export file is served with; "" for a name
// that is no export file.
func ContentType(file string) string {
	if !validFile(file) {
		return ""
	}
	return contentType(file)
}

// forgetExports deletes the exports of the access and portability
// requests about any of the entities being erased and blanks those
// requests' identity values: after an erasure no export URL serves the
// person and no request names them. Their downloads answer ErrNoExport.
func (s *Service) forgetExports(ctx context.Context, erased []string, log *slog.Logger) error {
	db := s.opts.DB
	gone := map[string]bool{}
	for _, e := range erased {
		gone[e] = true
	}
	var ids []string
	err := eachRow(ctx, db, db.Query("PrivacyRequestsExported"), func(rows *sql.Rows) error {
		var id, entities string
		if err := rows.Scan(&id, &entities); err != nil {
			return err
		}
		var el entityList
		if err := json.Unmarshal([]byte(entities), &el); err != nil {
			return fmt.Errorf("privacy request %s: entities: %w", id, err)
		}
		if slices.ContainsFunc(el.All, func(e string) bool { return gone[e] }) {
			ids = append(ids, id)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("find the exports of erased entities: %w", err)
	}
	for _, id := range ids {
		r, err := getRecord(ctx, db, id)
		if err != nil {
			return err
		}
		for _, f := range []string{DocumentFile, EventsFile} {
			if err := s.exports.Delete(ctx, id+"/"+f); err != nil && gcerrors.Code(err) != gcerrors.NotFound {
				return fmt.Errorf("delete export %s/%s: %w", id, f, err)
			}
		}
		blank, _ := json.Marshal(blankValues(r.Identities))
		if _, err := exec(ctx, db, db.Query("PrivacyRequestForget"), id, string(blank), s.now()); err != nil {
			return err
		}
		log.Info("privacy export of an erased person deleted", "subject_request_id", id)
	}
	return nil
}
