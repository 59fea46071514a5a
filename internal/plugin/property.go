package plugin

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Property types, from the JSON values of data.json.
const (
	TypeNumber  = "number"
	TypeText    = "text"
	TypeBoolean = "boolean"
)

// Limits of data.json.
const (
	maxProperties     = 100
	maxPropertyName   = 200
	maxCategory       = 200
	stagingChunk      = 100_000
	unknownExamples   = 10
	mergeChainMaxHops = 64
	// sep joins staged lists; data.json cannot hold it raw.
	sep = '\x1f'
)

// BatchData is a validated data.json of a batch stage (the seed's shape):
//
//	{"category": "Scores", "properties": ["Class", "Rating"],
//	 "updates": [["user_1", "A", 0.43], ["user_2", "B", null]]}
//
// Each update is the user id (a customer entity id, as the dataset's
// user_id) then one value per property: a number, a string, a boolean, or
// null for no value. A property's values share one type.
type BatchData struct {
	Category   string
	Properties []PropertyDecl
	// Rows holds the user ids; Values[i][j] the JSON of property j for
	// row i, nil for null.
	Rows   []string
	Values [][]json.RawMessage
}

// PropertyDecl is a property a batch writes and the type of its values
// ("" while it has only nulls).
type PropertyDecl struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

func dataErr(format string, args ...any) error {
	return &InputError{Code: "invalid_data", Message: "data.json: " + fmt.Sprintf(format, args...)}
}

// ParseBatchData reads and validates a data.json; errors name the key,
// row and column.
func ParseBatchData(r io.Reader) (*BatchData, error) {
	var raw struct {
		Category   *string             `json:"category"`
		Properties []string            `json:"properties"`
		Updates    [][]json.RawMessage `json:"updates"`
	}
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&raw); err != nil {
		return nil, dataErr("%v (expected {\"category\": \"...\", \"properties\": [\"name\", ...], \"updates\": [[\"user_id\", value, ...], ...]})", err)
	}
	if dec.More() {
		return nil, dataErr("more than one JSON value")
	}
	d := &BatchData{}
	if raw.Category != nil {
		d.Category = strings.TrimSpace(*raw.Category)
		if len(d.Category) > maxCategory {
			return nil, dataErr("category is longer than %d bytes", maxCategory)
		}
	}
	if len(raw.Properties) == 0 {
		return nil, dataErr("properties must list at least one property name")
	}
	if len(raw.Properties) > maxProperties {
		return nil, dataErr("properties lists %d names, at most %d are allowed", len(raw.Properties), maxProperties)
	}
	seen := map[string]bool{}
	for i, p := range raw.Properties {
		switch {
		case strings.TrimSpace(p) == "":
			return nil, dataErr("properties[%d] is empty", i)
		case len(p) > maxPropertyName:
			return nil, dataErr("properties[%d] is longer than %d bytes", i, maxPropertyName)
		case strings.ContainsRune(p, '/') || hasControl(p):
			return nil, dataErr("properties[%d] %q contains a slash or a control character", i, p)
		case seen[p]:
			return nil, dataErr("properties[%d] %q is listed twice", i, p)
		}
		seen[p] = true
		d.Properties = append(d.Properties, PropertyDecl{Name: p})
	}
	if raw.Updates == nil {
		return nil, dataErr("updates is missing (an empty batch is [])")
	}
	width := 1 + len(d.Properties)
	d.Rows = make([]string, len(raw.Updates))
	d.Values = make([][]json.RawMessage, len(raw.Updates))
	for i, u := range raw.Updates {
		if len(u) != width {
			return nil, dataErr("updates[%d] has %d elements, want %d: the user id and one value per property", i, len(u), width)
		}
		var id string
		if err := json.Unmarshal(u[0], &id); err != nil || id == "" || hasControl(id) {
			return nil, dataErr("updates[%d][0] must be the user id, a non-empty string without control characters, got %s", i, u[0])
		}
		d.Rows[i] = id
		vals := u[1:]
		for j, v := range vals {
			typ := jsonType(v)
			switch typ {
			case "null":
				vals[j] = nil
				continue
			case "":
				return nil, dataErr("updates[%d][%d] (%s) must be a number, a string, a boolean or null, got %s", i, j+1, d.Properties[j].Name, v)
			}
			if t := d.Properties[j].Type; t == "" {
				d.Properties[j].Type = typ
			} else if t != typ {
				return nil, dataErr("updates[%d][%d] (%s) is a %s, but earlier values of %s are of type %s", i, j+1, d.Properties[j].Name, typ, d.Properties[j].Name, t)
			}
			if typ == TypeText {
				// Compact and canonical: the stored text is the value's JSON.
				vals[j] = bytes.TrimSpace(v)
			}
		}
		d.Values[i] = vals
	}
	return d, nil
}

func hasControl(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] == 0x7f {
			return true
		}
	}
	return false
}

// jsonType names the JSON type of a scalar: number, text, boolean, null;
// "" for objects and arrays.
func jsonType(v json.RawMessage) string {
	v = bytes.TrimSpace(v)
	if len(v) == 0 {
		return ""
	}
	switch v[0] {
	case '"':
		return TypeText
	case 't', 'f':
		return TypeBoolean
	case 'n':
		return "null"
	case '{', '[':
		return ""
	}
	return TypeNumber
}

// StageResult says what a batch staged.
type StageResult struct {
	Updates int `json:"updates"`
	Values  int `json:"values"`
}

// Stage validates nothing more than ParseBatchData did and keeps the
// batch's values until the run publishes them. Staging a batch again (a
// resumed run) replaces what it staged before.
func (s *Service) Stage(ctx context.Context, run string, batch int, d *BatchData) (*StageResult, error) {
	tx, err := s.db.SQL().BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	if _, err := tx.ExecContext(ctx, s.db.Query("PluginStagingDeleteBatch"), run, batch); err != nil {
		return nil, fmt.Errorf("stage batch %d of run %s: %w", batch, run, err)
	}
	res := &StageResult{Updates: len(d.Rows)}
	var (
		ords, props, ids, vals strings.Builder
		pending                int
	)
	add := func(b *strings.Builder, s string) {
		if pending > 0 {
			b.WriteByte(sep)
		}
		b.WriteString(s)
	}
	flush := func() error {
		if pending == 0 {
			return nil
		}
		_, err := tx.ExecContext(ctx, s.db.Query("PluginStagingInsert"), run, batch, ords.String(), props.String(), ids.String(), vals.String())
		ords.Reset()
		props.Reset()
		ids.Reset()
		vals.Reset()
		pending = 0
		return err
	}
	for i, id := range d.Rows {
		for j, v := range d.Values[i] {
			if v == nil {
				continue
			}
			add(&ords, strconv.Itoa(i))
			add(&props, d.Properties[j].Name)
			add(&ids, id)
			add(&vals, string(v))
			pending++
			res.Values++
			if pending == stagingChunk {
				if err := flush(); err != nil {
					return nil, fmt.Errorf("stage batch %d of run %s: %w", batch, run, err)
				}
			}
		}
	}
	if err := flush(); err != nil {
		return nil, fmt.Errorf("stage batch %d of run %s: %w", batch, run, err)
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("stage batch %d of run %s: %w", batch, run, err)
	}
	return res, nil
}

// Discard drops what a failed run staged.
func (s *Service) Discard(ctx context.Context, run string) error {
	if _, err := s.db.SQL().ExecContext(ctx, s.db.Query("PluginStagingDeleteRun"), run); err != nil {
		return fmt.Errorf("discard staged properties of run %s: %w", run, err)
	}
	return nil
}

// PublishParams name what a run publishes.
type PublishParams struct {
	Plugin string
	Run    string
	// Started is the run's start: property ids are
	// <plugin>/<started as 20060102T150405Z>/<name>.
	Started    time.Time
	Category   string
	Properties []PropertyDecl
}

// PropertyPrefix is the id prefix of a run's properties.
func PropertyPrefix(plugin string, started time.Time) string {
	return plugin + "/" + started.UTC().Format("20060102T150405Z") + "/"
}

// PublishResult says what a run published.
type PublishResult struct {
	// Properties are the published ids with how many users have a value.
	Properties map[string]int64 `json:"properties"`
	// Merged counts updates of merged-away ids moved to their survivor.
	Merged int64 `json:"merged"`
	// Unknown counts user ids that are no customer entity; their updates
	// are dropped. UnknownExamples lists a few.
	Unknown         int64    `json:"unknown"`
	UnknownExamples []string `json:"unknown_examples,omitempty"`
	// Already is true when the run had been published before.
	Already bool `json:"already,omitempty"`
}

// Publish makes a run's staged updates its published properties, in one
// transaction: ids of merged-away entities are mapped to the entity they
// were merged into, unknown ids are counted and dropped, and where two
// updates land on one user the last one staged wins. Publishing a run
// again changes nothing.
func (s *Service) Publish(ctx context.Context, p PublishParams) (*PublishResult, error) {
	res := &PublishResult{Properties: map[string]int64{}}
	tx, err := s.db.SQL().BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	fail := func(what string, err error) (*PublishResult, error) {
		return nil, fmt.Errorf("publish run %s: %s: %w", p.Run, what, err)
	}
	var done int64
	if err := tx.QueryRowContext(ctx, s.db.Query("PluginPropertiesOfRun"), p.Run).Scan(&done); err != nil {
		return fail("check", err)
	}
	if done > 0 {
		res.Already = true
		return res, nil
	}
	for hop := 0; ; hop++ {
		r, err := tx.ExecContext(ctx, s.db.Query("PluginStagingFollowMerges"), p.Run)
		if err != nil {
			return fail("follow merges", err)
		}
		n, err := r.RowsAffected()
		if err != nil {
			return fail("follow merges", err)
		}
		res.Merged += n
		if n == 0 {
			break
		}
		if hop == mergeChainMaxHops {
			return fail("follow merges", fmt.Errorf("merge chains longer than %d", mergeChainMaxHops))
		}
	}
	if err := tx.QueryRowContext(ctx, s.db.Query("PluginStagingUnknownCount"), p.Run).Scan(&res.Unknown); err != nil {
		return fail("count unknown users", err)
	}
	if res.Unknown > 0 {
		rows, err := tx.QueryContext(ctx, s.db.Query("PluginStagingUnknownExamples"), p.Run, unknownExamples)
		if err != nil {
			return fail("list unknown users", err)
		}
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return fail("list unknown users", err)
			}
			res.UnknownExamples = append(res.UnknownExamples, id)
		}
		rows.Close()
	}
	prefix := PropertyPrefix(p.Plugin, p.Started)
	if _, err := tx.ExecContext(ctx, s.db.Query("PluginValuesPublish"), p.Run, prefix); err != nil {
		return fail("write values", err)
	}
	counts := map[string]int64{}
	rows, err := tx.QueryContext(ctx, s.db.Query("PluginValuesCount"), p.Run)
	if err != nil {
		return fail("count values", err)
	}
	for rows.Next() {
		var name string
		var n int64
		if err := rows.Scan(&name, &n); err != nil {
			rows.Close()
			return fail("count values", err)
		}
		counts[name] = n
	}
	rows.Close()
	now := s.now()
	for _, d := range p.Properties {
		typ := d.Type
		if typ == "" {
			typ = TypeText // only nulls: no value says otherwise
		}
		id := prefix + d.Name
		if _, err := tx.ExecContext(ctx, s.db.Query("PluginPropertyInsert"), id, p.Plugin, p.Run, d.Name, p.Category, typ, counts[d.Name], now); err != nil {
			return fail("write property "+d.Name, err)
		}
		res.Properties[id] = counts[d.Name]
	}
	if _, err := tx.ExecContext(ctx, s.db.Query("PluginStagingDeleteRun"), p.Run); err != nil {
		return fail("clear staging", err)
	}
	if err := tx.Commit(); err != nil {
		return fail("commit", err)
	}
	return res, nil
}

// Property is a published plugin property.
type Property struct {
	ID          string    `json:"id"`
	Plugin      string    `json:"plugin"`
	RunID       string    `json:"run_id"`
	Name        string    `json:"name"`
	Category    string    `json:"category"`
	Type        string    `json:"type"`
	Entities    int64     `json:"entities"`
	PublishedAt time.Time `json:"published_at"`
}

// Properties lists the published properties by id.
func (s *Service) Properties(ctx context.Context) ([]Property, error) {
	rows, err := s.db.SQL().QueryContext(ctx, s.db.Query("PluginPropertyList"))
	if err != nil {
		return nil, fmt.Errorf("list properties: %w", err)
	}
	defer rows.Close()
	out := []Property{}
	for rows.Next() {
		var p Property
		if err := rows.Scan(&p.ID, &p.Plugin, &p.RunID, &p.Name, &p.Category, &p.Type, &p.Entities, &p.PublishedAt); err != nil {
			return nil, err
		}
		p.PublishedAt = p.PublishedAt.UTC()
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, rows.Err()
}
