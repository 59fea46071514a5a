package store

import (
	"context"
	"encoding/json"
	"time"
)

// Store is everything Weft's stages need from a database. Methods are named
// entity first so the interface reads like an index; each takes a context
// and, where it has inputs, a *XxxParams struct so a new field breaks no
// caller.
type Store interface {
	// Dialect names the backend ("duckdb" or "postgres") for display only
	// (/healthz, bench output): what differs between the engines is asked
	// of DB.Capabilities, never by comparing this name.
	Dialect() string

	// EventAppendMany appends events to the log in one transaction and
	// registers their sources and event types. Events whose id is already in
	// the log are skipped. It returns once the new rows are durable.
	EventAppendMany(ctx context.Context, params *EventAppendManyParams) (*EventAppendManyResult, error)
	// EventList reads the log in seq order (or reverse seq order).
	EventList(ctx context.Context, params *EventListParams) ([]Event, error)

	// EventTypeList lists the catalog of event types, ordered by id.
	EventTypeList(ctx context.Context) ([]EventType, error)
	// EventTypeRegisterMany adds event types (and their sources) to the
	// catalog; existing ones are left as they are. It returns how many were new.
	EventTypeRegisterMany(ctx context.Context, keys []EventTypeKey) (int, error)
	// SourceList lists the sources in the catalog, ordered by id.
	SourceList(ctx context.Context) ([]Source, error)

	// ConfigCurrent returns the configuration in force (Version 0: none).
	ConfigCurrent(ctx context.Context) (*StoredConfig, error)
	// ConfigSave stores a new version of the configuration.
	ConfigSave(ctx context.Context, body, normalized string) (*StoredConfig, error)
	// ConfigVersionList pages through the applied configurations, newest
	// first, without their bodies; ConfigVersionGet reads one.
	ConfigVersionList(ctx context.Context, params ConfigVersionListParams) ([]StoredConfig, error)
	ConfigVersionGet(ctx context.Context, version int64) (*StoredConfig, error)

	// EntityGet returns a profile, following merges (see Entity.MergedFrom).
	EntityGet(ctx context.Context, id string) (*Entity, error)
	// CustomerGet reads the profiles of entities by id, each part in one
	// query for them all; ids that are not entities are left out.
	CustomerGet(ctx context.Context, ids []string) ([]Entity, error)
	// EntityLive returns the live entity id is or was merged into.
	EntityLive(ctx context.Context, id string) (string, error)
	// EntityFind returns the live entity holding an identifier.
	EntityFind(ctx context.Context, category, value string) (string, error)
	// EntityList pages through live entities by id.
	EntityList(ctx context.Context, params *EntityListParams) ([]Entity, error)
	// EntityEvents pages through a live entity's events.
	EntityEvents(ctx context.Context, params *EntityEventsParams) ([]Event, error)
	// EntityMerges lists the merges that built a live entity.
	EntityMerges(ctx context.Context, id string) ([]Merge, error)

	// AttributeValuesOf reads entities' calculated values.
	AttributeValuesOf(ctx context.Context, ids []string) (map[string]map[string][]string, error)
	// PropertyValuesOf reads entities' published plugin properties: entity
	// id → property id → the value as JSON.
	PropertyValuesOf(ctx context.Context, ids []string) (map[string]map[string]json.RawMessage, error)
	// SegmentStates reads segments' sizes and last runs.
	SegmentStates(ctx context.Context, ids []string) (map[string]*SegmentState, error)
	// SegmentRunList reads a segment's runs, newest first.
	SegmentRunList(ctx context.Context, id string, limit int) ([]SegmentRun, error)
	// SegmentMemberList pages through a segment's members by entity id.
	SegmentMemberList(ctx context.Context, params *SegmentMemberListParams) ([]SegmentMember, error)
	// SegmentsOf reads the segments of entities: entity id → segment ids.
	SegmentsOf(ctx context.Context, ids []string) (map[string][]string, error)
	// AttributeStates lists the attributes' last runs.
	AttributeStates(ctx context.Context) ([]AttributeState, error)
	// AttributeValueCounts reads an attribute's value distribution.
	AttributeValueCounts(ctx context.Context, id string, limit int) (int64, []ValueCount, error)
	// AttributeHistogram reads a numeric attribute's distribution in n
	// buckets of equal width, from the values cache.
	AttributeHistogram(ctx context.Context, id string, n int) ([]Bucket, error)
	// SegmentRunHistory reads the last limit runs of each segment of ids,
	// oldest first.
	SegmentRunHistory(ctx context.Context, ids []string, limit int) (map[string][]SegmentRun, error)

	// JobRunGet reads a run of a job.
	JobRunGet(ctx context.Context, id string) (*JobRun, error)
	// JobRunList lists runs, newest first.
	JobRunList(ctx context.Context, params *JobRunListParams) ([]*JobRun, error)
	// JobLogList reads a run's log lines after a line id, at a minimum level.
	JobLogList(ctx context.Context, runID string, afterID int64, minLevel, limit int) ([]JobLog, error)
	// JobLogSearch reads a run's log lines in order, filtered by time and a match.
	JobLogSearch(ctx context.Context, params *JobLogSearchParams) ([]JobLog, error)
	// NotificationList lists the activity log, newest first.
	NotificationList(ctx context.Context, level, job string, limit int) ([]Notification, error)
	// JobRunPage pages through runs, newest first (the console's list).
	JobRunPage(ctx context.Context, params *JobRunPageParams) ([]*JobRun, error)
	// JobRunLatest returns the newest run of every job, by job.
	JobRunLatest(ctx context.Context) (map[string]*JobRun, error)

	// Stats counts what the store holds.
	Stats(ctx context.Context) (*Stats, error)
	// EventCounts counts a seq range of the log per day and source and per
	// event type (the console's overview).
	EventCounts(ctx context.Context, params *EventCountsParams) (*EventCounts, error)
	// StatsVersion changes when Stats would, and is cheap to read.
	StatsVersion(ctx context.Context) (StatsVersion, error)
	// JobRunLatest returns the last run of every job that has run.

	// Close releases the database.
	Close() error
}

// EventTypeKey identifies an event type: a source, a type and a version.
type EventTypeKey struct {
	SourceID string `json:"source_id"`
	Type     string `json:"type"`
	Version  string `json:"version"`
}

// ID is the stable id of the event type, "source_id/type/version", the
// notation config files use. The parts never contain a slash.
func (k EventTypeKey) ID() string { return k.SourceID + "/" + k.Type + "/" + k.Version }

// EventType is one entry of the catalog.
type EventType struct {
	EventTypeKey
	ID        string    `json:"id"`
	CreatedAt time.Time `json:"created_at"`
}

// Source is a source of events, registered with its first event type.
type Source struct {
	ID        string    `json:"id"`
	CreatedAt time.Time `json:"created_at"`
}

// EventInsert is one validated event to append.
type EventInsert struct {
	ID string
	EventTypeKey
	EventTime time.Time       // UTC, microsecond precision
	Payload   json.RawMessage // a JSON object
}

// Event is one row of the log.
type Event struct {
	Seq       int64           `json:"seq"`
	ID        string          `json:"id"`
	SourceID  string          `json:"source_id"`
	Type      string          `json:"type"`
	Version   string          `json:"version"`
	EventTime time.Time       `json:"event_time"`
	Payload   json.RawMessage `json:"payload"`
	CreatedAt time.Time       `json:"created_at"`
}

// EventAppendManyParams are the events to append. Their ids must be unique
// within the call; the caller (package event) removes repeats first.
type EventAppendManyParams struct {
	Events []EventInsert
	// Drop, when set, selects the staged events (table event_staging, as
	// LoadEvents fills it) that are not appended: the events that carry a
	// suppressed identifier (package erasure).
	Drop *Drop
}

// Drop selects rows by the identifiers they carry (DeleteIdentified).
type Drop struct {
	// Identifiers is a query of the rows' (id, category, value): the
	// stitching rules, SQL from the config, run confined
	// (Capabilities.ConfineConfigSQL).
	Identifiers string
	// Match is Weft's own condition on r.category and r.value (a row of
	// Identifiers) that selects the rows to delete, run as Weft's role.
	Match string
	// Unless, when not empty, is a query of one integer run in the
	// append's transaction first: when it answers Seen, Identifiers does
	// not run and the rows dropped are those of IDs (the caller checked
	// the batch against that state of what Match reads, and found those).
	Unless string
	Seen   int64
	IDs    []string
}

// EventAppendManyResult says how many events were new.
type EventAppendManyResult struct {
	// Inserted counts the events that were not in the log before.
	Inserted int
	// Dropped counts the staged events that Drop selected.
	Dropped int
}

// EventListLimitMax bounds one page of EventList.
const EventListLimitMax = 10000

// EventListParams select a page of the log.
type EventListParams struct {
	// AfterSeq returns events with seq greater than this (ascending order),
	// or, with Desc, smaller than this unless it is zero.
	AfterSeq int64
	// Limit is the page size, 1 to EventListLimitMax.
	Limit int
	// SourceID and Type filter when not empty.
	SourceID string
	Type     string
	// Desc returns the newest events first.
	Desc bool
}

// Stats are counts over the store.
type Stats struct {
	Events     int64 `json:"events"`
	EventTypes int64 `json:"event_types"`
	Sources    int64 `json:"sources"`
	MaxSeq     int64 `json:"max_seq"`

	// What stitching built; zero before its first pass.
	Entities       int64 `json:"entities"`        // live ones
	MergedEntities int64 `json:"merged_entities"` // tombstones
	Merges         int64 `json:"merges"`
	StitchedSeq    int64 `json:"stitched_seq"` // the stitching watermark
	// Identifiers counts identifier values per category.
	Identifiers   map[string]int64 `json:"identifiers"`
	LargestEntity *EntitySize      `json:"largest_entity"`
	// Audit counts what stitching refused, per reason (blocked,
	// max_per_entity): distinct values and the events that carried them.
	Audit map[string]AuditCount `json:"audit"`
}

// EntitySize is an entity and how many events it holds.
type EntitySize struct {
	ID     string `json:"id"`
	Events int64  `json:"events"`
}

// AuditCount sums stitch_audit rows of one reason.
type AuditCount struct {
	Values int64 `json:"values"`
	Events int64 `json:"events"`
}
