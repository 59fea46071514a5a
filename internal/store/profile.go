package store

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"
)

// Entity is a customer profile: one entity of the stitched partition.
type Entity struct {
	ID string `json:"id"`
	// Identifiers are the entity's values per stitching category, in the
	// order they were first seen.
	Identifiers    map[string][]string `json:"identifiers"`
	EventsCount    int64               `json:"events_count"`
	FirstEventTime *time.Time          `json:"first_event_time"`
	LastEventTime  *time.Time          `json:"last_event_time"`
	CreatedAt      time.Time           `json:"created_at"`
	ModifiedAt     time.Time           `json:"modified_at"`
	// MergedFrom is the id asked for when it was merged into this entity.
	MergedFrom string `json:"merged_from,omitempty"`
	// links are Identifiers with the seq of the event that linked each
	// first (see IdentifierLinks); read with them, not answered.
	links []IdentifierLink
	// Attributes are the calculated attributes, typed by their
	// definitions; the API fills them in (see AttributeValuesOf).
	Attributes map[string]any `json:"attributes"`
	// Properties are the published plugin properties by id
	// (<plugin>/<run time>/<name>); the API fills them in (see
	// PropertyValuesOf).
	Properties map[string]json.RawMessage `json:"properties"`
	// Segments are the ids of the segments of the config in force the
	// entity is a member of, sorted; the API fills them in (see
	// SegmentsOf).
	Segments []string `json:"segments"`
}

// Merge is one entry of the merge log.
type Merge struct {
	Survivor string    `json:"survivor"`
	Loser    string    `json:"loser"`
	EventSeq int64     `json:"event_seq"`
	Category string    `json:"category"`
	Value    string    `json:"value"`
	MergedAt time.Time `json:"merged_at"`
}

// mergeChainMax bounds how many merges EntityGet follows; a chain is at
// most as long as the number of merges an entity went through.
const mergeChainMax = 10_000

// EntityLive returns the live entity that id is or was merged into, or
// ErrNotFound.
func (db *DB) EntityLive(ctx context.Context, id string) (string, error) {
	for range mergeChainMax {
		var into sql.NullString
		err := db.sql.QueryRowContext(ctx, db.q.get("EntityMergedInto"), id).Scan(&into)
		if errors.Is(err, sql.ErrNoRows) {
			return "", ErrNotFound
		}
		if err != nil {
			return "", fmt.Errorf("read entity %s: %w", id, err)
		}
		if !into.Valid {
			return id, nil
		}
		id = into.String
	}
	return "", fmt.Errorf("entity %s: merge chain longer than %d", id, mergeChainMax)
}

// EntityGet returns the profile of the entity id, or of the entity it was
// merged into with MergedFrom set; ErrNotFound if id never existed. A live
// id is read once: its row says it is live (each read of entities by id
// compares every id on DuckDB, about 50 ms of CPU on the 10M store).
func (db *DB) EntityGet(ctx context.Context, id string) (*Entity, error) {
	e := Entity{Identifiers: map[string][]string{}}
	var into sql.NullString
	err := db.sql.QueryRowContext(ctx, db.q.get("EntityRow"), id).Scan(&e.ID, &e.CreatedAt, &e.ModifiedAt, &into)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read entity %s: %w", id, err)
	}
	if !into.Valid {
		e.CreatedAt, e.ModifiedAt = e.CreatedAt.UTC(), e.ModifiedAt.UTC()
		es := []Entity{e}
		if err := db.complete(ctx, es, map[string]int{e.ID: 0}); err != nil {
			return nil, err
		}
		return &es[0], nil
	}
	live, err := db.EntityLive(ctx, into.String)
	if err != nil {
		return nil, err
	}
	es, err := db.entities(ctx, db.q.get("EntityRows"), []string{live})
	if err != nil {
		return nil, err
	}
	if len(es) == 0 {
		return nil, ErrNotFound
	}
	es[0].MergedFrom = id
	return &es[0], nil
}

// EntityFind returns the live entity holding the identifier, or ErrNotFound.
func (db *DB) EntityFind(ctx context.Context, category, value string) (string, error) {
	var id string
	err := db.sql.QueryRowContext(ctx, db.q.get("EntityByIdentifier"), category, value).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", ErrNotFound
	}
	if err != nil {
		return "", fmt.Errorf("find identifier %s:%s: %w", category, value, err)
	}
	return db.EntityLive(ctx, id)
}

// EntityListLimitMax bounds one page of EntityList.
const EntityListLimitMax = 1000

// EntityListParams select a page of live entities, ordered by id.
type EntityListParams struct {
	After string // ids greater than this
	Limit int    // 1 to EntityListLimitMax
}

// EntityList pages through the live entities.
func (db *DB) EntityList(ctx context.Context, p *EntityListParams) ([]Entity, error) {
	return db.entities(ctx, db.q.get("EntityPage"), p.After, p.Limit)
}

// entities runs a query for (id, created_at, modified_at) rows and fills in
// the rest of each profile with one query per part, not per entity.
func (db *DB) entities(ctx context.Context, query string, args ...any) ([]Entity, error) {
	rows, err := db.sql.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("read entities: %w", err)
	}
	var out []Entity
	index := map[string]int{}
	for rows.Next() {
		e := Entity{Identifiers: map[string][]string{}}
		if err := rows.Scan(&e.ID, &e.CreatedAt, &e.ModifiedAt); err != nil {
			rows.Close()
			return nil, fmt.Errorf("read entities: %w", err)
		}
		e.CreatedAt, e.ModifiedAt = e.CreatedAt.UTC(), e.ModifiedAt.UTC()
		index[e.ID] = len(out)
		out = append(out, e)
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(out) == 0 {
		return out, err
	}
	return out, db.complete(ctx, out, index)
}

// complete fills in the identifiers and event statistics of entities
// (index: id -> position in out).
func (db *DB) complete(ctx context.Context, out []Entity, index map[string]int) error {
	ids := make([]string, len(out))
	for i, e := range out {
		ids[i] = e.ID
	}
	if err := db.entityIdentifiers(ctx, ids, out, index); err != nil {
		return err
	}
	return db.entityEventStats(ctx, ids, out, index)
}

func (db *DB) entityIdentifiers(ctx context.Context, ids []string, out []Entity, index map[string]int) error {
	err := db.each(ctx, "EntityIdentifiers", func(rows *sql.Rows) error {
		var id, cat, val string
		var first int64
		if err := rows.Scan(&id, &cat, &val, &first); err != nil {
			return err
		}
		e := &out[index[id]]
		e.Identifiers[cat] = append(e.Identifiers[cat], val)
		e.links = append(e.links, IdentifierLink{cat, val, first})
		return nil
	}, ids)
	if err != nil {
		return fmt.Errorf("read identifiers: %w", err)
	}
	return nil
}

func (db *DB) entityEventStats(ctx context.Context, ids []string, out []Entity, index map[string]int) error {
	err := db.each(ctx, "EntityEventStats", func(rows *sql.Rows) error {
		var id string
		var n int64
		var first, last time.Time
		if err := rows.Scan(&id, &n, &first, &last); err != nil {
			return err
		}
		e := &out[index[id]]
		first, last = first.UTC(), last.UTC()
		e.EventsCount, e.FirstEventTime, e.LastEventTime = n, &first, &last
		return nil
	}, ids)
	if err != nil {
		return fmt.Errorf("count entity events: %w", err)
	}
	return nil
}

// IdentifierLinks returns up to limit of the entity's identifiers in the
// order they were linked, as ProfileIdentifierLinks reads them: the
// console's profile page takes them from the entity it has read instead
// of reading the identifiers again (a scan of every identifier's entity id
// on DuckDB).
func (e *Entity) IdentifierLinks(limit int) []IdentifierLink {
	out := slices.Clone(e.links)
	slices.SortFunc(out, func(a, b IdentifierLink) int {
		return cmp.Or(cmp.Compare(a.FirstSeq, b.FirstSeq), cmp.Compare(a.Category, b.Category), cmp.Compare(a.Value, b.Value))
	})
	return out[:min(len(out), limit)]
}

// EntityEventsParams select a page of one entity's events.
type EntityEventsParams struct {
	ID       string // a live entity (see EntityLive)
	AfterSeq int64
	Limit    int // 1 to EventListLimitMax
}

// EntityEvents lists the events of a live entity in seq order.
func (db *DB) EntityEvents(ctx context.Context, p *EntityEventsParams) ([]Event, error) {
	rows, err := db.sql.QueryContext(ctx, db.q.get("EntityEvents"), p.ID, p.AfterSeq, p.Limit)
	if err != nil {
		return nil, fmt.Errorf("list entity events: %w", err)
	}
	return scanEvents(rows)
}

// EntityMerges lists the merges that built a live entity, oldest first.
func (db *DB) EntityMerges(ctx context.Context, id string) ([]Merge, error) {
	out := []Merge{}
	err := db.each(ctx, "EntityMerges", func(rows *sql.Rows) error {
		var m Merge
		err := rows.Scan(&m.Survivor, &m.Loser, &m.EventSeq, &m.Category, &m.Value, &m.MergedAt)
		m.MergedAt = m.MergedAt.UTC()
		out = append(out, m)
		return err
	}, id)
	if err != nil {
		return nil, fmt.Errorf("list merges: %w", err)
	}
	return out, nil
}

// EntityAssignments calls fn with every stitched event's id and entity id,
// for exports and for scoring stitching against a known truth.
func (db *DB) EntityAssignments(ctx context.Context, fn func(eventID, entityID string) error) error {
	return db.each(ctx, "EntityAssignments", func(rows *sql.Rows) error {
		var ev, ent string
		if err := rows.Scan(&ev, &ent); err != nil {
			return err
		}
		return fn(ev, ent)
	})
}

// PropertyValuesOf reads the published plugin properties of entities.
func (db *DB) PropertyValuesOf(ctx context.Context, ids []string) (map[string]map[string]json.RawMessage, error) {
	out := map[string]map[string]json.RawMessage{}
	err := db.each(ctx, "PropertyValuesOf", func(rows *sql.Rows) error {
		var id, prop, val string
		if err := rows.Scan(&id, &prop, &val); err != nil {
			return err
		}
		if out[id] == nil {
			out[id] = map[string]json.RawMessage{}
		}
		out[id][prop] = json.RawMessage(val)
		return nil
	}, ids)
	if err != nil {
		return nil, fmt.Errorf("read plugin properties: %w", err)
	}
	return out, nil
}
