-- Segments (package segment): the fixed statements of the segments job.
-- The query of a segment's members is built from its condition there.
-- seg_new holds the members a run computed for one segment (of seg_cand,
-- the candidates, in an incremental run), seg_diff the changes it found
-- for every segment computed so far, which the run writes at its end, all
-- segments at once.

-- name: SegmentStateList
SELECT segment_id, hash, evaluated_at, entity_count, max_created_seq FROM segment_state

-- name: SegmentStateSave
-- The states of the segments a run wrote ($1 and $2 arrays, a segment
-- each), one statement for all.
INSERT INTO segment_state (segment_id, hash, evaluated_at, run_id, entity_count, max_created_seq)
SELECT unnest(CAST($1 AS TEXT[])), unnest(CAST($2 AS TEXT[])), CAST($3 AS TIMESTAMPTZ), $4, $5, $6
ON CONFLICT (segment_id) DO UPDATE SET hash = excluded.hash, evaluated_at = excluded.evaluated_at, run_id = excluded.run_id,
    entity_count = excluded.entity_count, max_created_seq = excluded.max_created_seq

-- name: SegmentEntitySnapshot
SELECT count(*), coalesce(max(created_seq), 0) FROM entities

-- name: SegmentEntitiesUpTo
SELECT count(*) FROM entities WHERE created_seq <= $1

-- name: SegmentTempCreate
CREATE TEMP TABLE IF NOT EXISTS seg_cand (entity_id TEXT NOT NULL)

-- name: SegmentDiffCreate
CREATE TEMP TABLE seg_diff (segment_id TEXT NOT NULL, entity_id TEXT NOT NULL, change TEXT NOT NULL)

-- name: SegmentChangedCreate
CREATE TEMP TABLE IF NOT EXISTS seg_changed (entity_id TEXT NOT NULL)

-- name: SegmentChangedClear
DELETE FROM seg_changed

-- name: SegmentCandsCreate
-- The candidates of every segment an incremental run computes.
CREATE TEMP TABLE IF NOT EXISTS seg_cands (segment_id TEXT NOT NULL, entity_id TEXT NOT NULL)

-- name: SegmentCandsClear
DELETE FROM seg_cands

-- name: SegmentCandsFromChanged
INSERT INTO seg_cands (segment_id, entity_id) SELECT $1, entity_id FROM seg_changed

-- name: SegmentMovedCreate
-- The entities a relative window moved over, by query (run.moved).
CREATE TEMP TABLE IF NOT EXISTS seg_moved (query_no INTEGER NOT NULL, entity_id TEXT NOT NULL)

-- name: SegmentMovedClear
DELETE FROM seg_moved

-- name: SegmentCandsFromMoved
INSERT INTO seg_cands (segment_id, entity_id) SELECT $1, entity_id FROM seg_moved WHERE query_no = $2

-- name: SegmentCandFromCands
INSERT INTO seg_cand (entity_id) SELECT DISTINCT entity_id FROM seg_cands WHERE segment_id = $1

-- name: SegmentCandClear
DELETE FROM seg_cand

-- name: SegmentDiffClear
DELETE FROM seg_diff WHERE segment_id = $1

-- name: SegmentCandidatesChanged
-- Entities whose inputs changed since $1: events, merges (losers
-- included: their memberships end) and attribute calculations. A union
-- of two tests rather than one OR: DuckDB tests each in its scan and
-- reads the ids of the rows that pass only; the OR of two columns is
-- tested after the scan, which read every entity's id (65 to 88 ms of
-- CPU at 2M entities, against 13 to 37).
INSERT INTO seg_changed (entity_id)
SELECT id FROM entities WHERE modified_at >= CAST($1 AS TIMESTAMPTZ)
UNION
SELECT id FROM entities WHERE attributes_calculated_at >= CAST($1 AS TIMESTAMPTZ)

-- name: SegmentCandidatesGone
-- Members whose entity is gone (erased).
INSERT INTO seg_changed (entity_id)
SELECT DISTINCT m.entity_id FROM segment_members m
WHERE NOT EXISTS (SELECT 1 FROM entities e WHERE e.id = m.entity_id)

-- name: SegmentCandidatesCount
SELECT count(*) FROM seg_cand

-- name: SegmentDiffEntered
INSERT INTO seg_diff (segment_id, entity_id, change)
SELECT DISTINCT CAST($1 AS TEXT), n.entity_id, 'entered' FROM seg_new n
WHERE NOT EXISTS (SELECT 1 FROM segment_members m WHERE m.segment_id = $1 AND m.entity_id = n.entity_id)

-- name: SegmentDiffExitedAll
INSERT INTO seg_diff (segment_id, entity_id, change)
SELECT CAST($1 AS TEXT), m.entity_id, 'exited' FROM segment_members m
WHERE m.segment_id = $1 AND NOT EXISTS (SELECT 1 FROM seg_new n WHERE n.entity_id = m.entity_id)

-- name: SegmentMembersAny
SELECT EXISTS (SELECT 1 FROM segment_members WHERE segment_id = $1)

-- name: SegmentDiffCandidates
-- A segment's changes in an incremental run, entered and exited in one
-- statement, over seg_c_members: the memberships of all candidates as the
-- run began (segment_members changes only at the end of the run).
INSERT INTO seg_diff (segment_id, entity_id, change)
SELECT DISTINCT CAST($1 AS TEXT), n.entity_id, 'entered' FROM seg_new n
WHERE NOT EXISTS (SELECT 1 FROM seg_c_members m WHERE m.segment_id = $1 AND m.entity_id = n.entity_id)
UNION ALL
SELECT CAST($1 AS TEXT), m.entity_id, 'exited' FROM seg_c_members m
WHERE m.segment_id = $1 AND m.entity_id IN (SELECT entity_id FROM seg_cand)
AND NOT EXISTS (SELECT 1 FROM seg_new n WHERE n.entity_id = m.entity_id)

-- name: SegmentChangesMaxSeq
SELECT coalesce(max(seq), 0) FROM segment_changes

-- name: SegmentDiffCounts
-- Each segment's entered and exited entities, before they are written.
SELECT segment_id, change, count(*) FROM seg_diff GROUP BY segment_id, change

-- name: SegmentChangesInsert
-- The changes of every segment of the run, in one statement.
INSERT INTO segment_changes (segment_id, entity_id, change, changed_at, run_id)
SELECT segment_id, entity_id, change, CAST($1 AS TIMESTAMPTZ), $2 FROM seg_diff

-- name: SegmentMembersExit
-- The entity test first: on DuckDB a hash semi join over the few exited
-- ids keeps 1 of 10,000 rows for the pair test, which alone, as a join on
-- both columns, scanned every member row (1.3 s of CPU for 100 exits of
-- 4.7M members, 0.15 s with the entity test first). The run appends a
-- test of the segments with exits, as constants (run.exitStatement).
DELETE FROM segment_members
WHERE entity_id IN (SELECT entity_id FROM seg_diff WHERE change = 'exited')
AND EXISTS (SELECT 1 FROM seg_diff d WHERE d.change = 'exited'
    AND d.segment_id = segment_members.segment_id AND d.entity_id = segment_members.entity_id)

-- name: SegmentMembersEnter
INSERT INTO segment_members (segment_id, entity_id, entered_at)
SELECT segment_id, entity_id, CAST($1 AS TIMESTAMPTZ) FROM seg_diff WHERE change = 'entered'

-- name: SegmentMembersCounts
-- The size of every segment with a member; the run keeps those it
-- computed. Counting them all is cheaper than testing each row's segment
-- against a list (on DuckDB 12 to 14 ms of CPU for 4.7M members, against
-- 65 to 100 ms with the list a semi join).
SELECT segment_id, count(*) FROM segment_members GROUP BY segment_id

-- name: SegmentEventsAppend
-- The changes of the run after seq $1 as events of source weft, for the
-- entities seg_ident holds (live ones with an identifier of a stitching
-- category: an entity merged away holds none): the payload names the
-- entity's oldest identifier, which the derived stitching rules
-- (segment.StitchingRules) read, so that stitching gives the event to
-- the entity. An entity being erased gets no event: its identifiers must
-- not come back into the log between the start of its erasure and the
-- physical delete. json_object builds the payload as JSON: text pieced
-- together and cast to JSON is parsed again (a third more CPU on DuckDB).
INSERT INTO event_log (id, source_id, type, version, event_time, payload, created_at)
SELECT 'weft-segment-' || CAST(c.seq AS TEXT), 'weft', 'segment_' || c.change, '1', c.changed_at,
       json_object('segment_id', c.segment_id, 'entity_id', c.entity_id, 'run_id', c.run_id,
                   'identifier_category', i.category, 'identifier_value', i.value),
       CAST($2 AS TIMESTAMPTZ)
FROM segment_changes c
JOIN seg_ident i ON i.entity_id = c.entity_id
WHERE c.seq > $1 AND c.entity_id NOT IN (SELECT entity_id FROM erasure_pending)

-- name: SegmentDiffRowSpan
-- One more than the greatest rowid of seg_diff (DuckDB): how many seqs
-- the changes numbered by their rowid take (SegmentChangesInsertNumbered).
SELECT coalesce(max(rowid), -1) + 1 FROM seg_diff

-- name: SegmentChangesSeqReserve
-- Draws $1 values of segment_changes_seq (EventSeqReserve's twin): the
-- first, the last and how many.
SELECT coalesce(min(s), 0), coalesce(max(s), -1), count(*) FROM (SELECT nextval('segment_changes_seq') AS s FROM range(CAST($1 AS BIGINT))) r

-- name: SegmentChangesInsertNumbered
-- SegmentChangesInsert where one writer appends (store.Capabilities.
-- SingleWriter, DuckDB): each change's seq is $3 plus its rowid in
-- seg_diff, in a range of segment_changes_seq the run drew, so that its
-- event (SegmentEventsAppendNumbered) is made from seg_diff too. DuckDB
-- inserts rows whose seq a nextval() default gives on one thread, given
-- ones on all.
INSERT INTO segment_changes (seq, segment_id, entity_id, change, changed_at, run_id)
SELECT CAST($3 AS BIGINT) + rowid, segment_id, entity_id, change, CAST($1 AS TIMESTAMPTZ), $2 FROM seg_diff

-- name: SegmentEventsAppendNumbered
-- SegmentEventsAppend after SegmentChangesInsertNumbered: the events of
-- the changes straight from seg_diff, the change's seq being $3 plus its
-- rowid and the event's $4 plus it (both ranges drawn by the run), rather
-- than from the change rows just inserted (a scan of millions of rows of
-- the transaction's own). The same rows, ids and payloads.
INSERT INTO event_log (id, seq, source_id, type, version, event_time, payload, created_at)
SELECT 'weft-segment-' || CAST(CAST($3 AS BIGINT) + d.rowid AS TEXT), CAST($4 AS BIGINT) + d.rowid, 'weft', 'segment_' || d.change, '1',
       CAST($1 AS TIMESTAMPTZ),
       json_object('segment_id', d.segment_id, 'entity_id', d.entity_id, 'run_id', CAST($2 AS TEXT),
                   'identifier_category', i.category, 'identifier_value', i.value),
       CAST($5 AS TIMESTAMPTZ)
FROM seg_diff d
JOIN seg_ident i ON i.entity_id = d.entity_id
WHERE d.entity_id NOT IN (SELECT entity_id FROM erasure_pending)

-- name: SegmentIdentCreate
CREATE TEMP TABLE IF NOT EXISTS seg_ident (entity_id TEXT NOT NULL, category TEXT NOT NULL, value TEXT NOT NULL)

-- name: SegmentIdentClear
DELETE FROM seg_ident

-- name: SegmentIdentFill
-- The oldest identifier of a category of $1 of the entities of seg_diff.
-- One arg_min picks both columns: two compare every row's ordering key
-- twice (a third more CPU).
INSERT INTO seg_ident (entity_id, category, value)
SELECT entity_id, o.c, o.v FROM (
    SELECT entity_id, arg_min({'c': category, 'v': value}, (first_seq, category, value)) AS o
    FROM identifiers WHERE category IN (SELECT unnest(CAST($1 AS TEXT[])))
      AND entity_id IN (SELECT entity_id FROM seg_diff)
    GROUP BY entity_id) x

-- name: SegmentIdentFillCopied
-- SegmentIdentFill from the copy of the candidates' identifiers
-- (seg_c_idents) when every change is a candidate's (an incremental run):
-- the copy holds them already, and the lookup then reads a few thousand rows
-- rather than scanning identifiers again (10M events: 88-95 ms).
INSERT INTO seg_ident (entity_id, category, value)
SELECT entity_id, o.c, o.v FROM (
    SELECT entity_id, arg_min({'c': category, 'v': value}, (first_seq, category, value)) AS o
    FROM seg_c_idents WHERE category IN (SELECT unnest(CAST($1 AS TEXT[])))
      AND entity_id IN (SELECT entity_id FROM seg_diff)
    GROUP BY entity_id) x

-- name: SegmentIdentFillAll
-- SegmentIdentFill of every entity: one aggregate over identifiers, when
-- the changes are many. A statement of its own, not SegmentIdentFill with
-- a parameter saying "all" (TRUE OR entity_id IN ...): DuckDB does not
-- fold a parameter away and builds the semi join's hash table of every
-- change for nothing (2.1 to 2.5 s of CPU for 4.7M changes, 1.2 s without).
INSERT INTO seg_ident (entity_id, category, value)
SELECT entity_id, o.c, o.v FROM (
    SELECT entity_id, arg_min({'c': category, 'v': value}, (first_seq, category, value)) AS o
    FROM identifiers WHERE category IN (SELECT unnest(CAST($1 AS TEXT[])))
    GROUP BY entity_id) x

-- name: SegmentDiffCount
SELECT count(*) FROM seg_diff

-- name: SegmentRunInsert
INSERT INTO segment_runs (segment_id, run_id, full_run, size, entered, exited, status, error, duration_ms, finished_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, CAST($10 AS TIMESTAMPTZ))

-- name: SegmentRunsInsertOK
-- The run rows of the segments a run wrote, one statement for all (the
-- arrays $1 and $3 to $7 hold a segment each, in the same order).
INSERT INTO segment_runs (segment_id, run_id, full_run, size, entered, exited, status, error, duration_ms, finished_at)
SELECT unnest(CAST($1 AS TEXT[])), $2, unnest(CAST($3 AS BOOLEAN[])), unnest(CAST($4 AS BIGINT[])),
       unnest(CAST($5 AS BIGINT[])), unnest(CAST($6 AS BIGINT[])), 'ok', NULL, unnest(CAST($7 AS DOUBLE PRECISION[])),
       CAST($8 AS TIMESTAMPTZ)

-- name: SegmentPropsCreate
CREATE TEMP TABLE IF NOT EXISTS seg_props (property_id TEXT NOT NULL, entity_id TEXT NOT NULL, value TEXT NOT NULL)

-- name: SegmentPropsClear
DELETE FROM seg_props

-- name: SegmentPropsFill
-- The values of the properties a condition reads, where config SQL can
-- read them (the restricted role of PostgreSQL reads no plugin tables).
INSERT INTO seg_props (property_id, entity_id, value)
SELECT property_id, entity_id, value FROM plugin_property_values WHERE property_id IN (SELECT unnest(CAST($1 AS TEXT[])))

-- name: SegmentPropsFillCandidates
-- SegmentPropsFill of an incremental run: the candidates' values only.
INSERT INTO seg_props (property_id, entity_id, value)
SELECT property_id, entity_id, value FROM plugin_property_values WHERE property_id IN (SELECT unnest(CAST($1 AS TEXT[])))
AND entity_id IN (SELECT entity_id FROM seg_c_ids)

-- name: SegmentFillCreate
-- The per-event results of one fill, computed confined (config SQL).
CREATE TEMP TABLE IF NOT EXISTS seg_fill (seq BIGINT NOT NULL, v DOUBLE PRECISION)

-- name: SegmentFillClear
DELETE FROM seg_fill

-- name: SegmentLogTop
SELECT coalesce(max(seq), 0) FROM event_log

-- name: SegmentValueKeys
SELECT key, filled_to, used_at FROM segment_event_keys

-- name: SegmentValueKeyAdd
INSERT INTO segment_event_keys (key, spec, filled_to, used_at) VALUES ($1, $2, 0, CAST($3 AS TIMESTAMPTZ))
ON CONFLICT (key) DO NOTHING

-- name: SegmentValuesAppend
INSERT INTO segment_event_values (key, seq, v) SELECT CAST($1 AS BIGINT), seq, v FROM seg_fill

-- name: SegmentValueKeyFilled
-- Only from the filled_to the fill began at: a fill that raced it and
-- committed first leaves nothing to update, and this one rolls back.
UPDATE segment_event_keys SET filled_to = $2, used_at = CAST($4 AS TIMESTAMPTZ) WHERE key = $1 AND filled_to = $3

-- name: SegmentValueKeyUsed
UPDATE segment_event_keys SET used_at = CAST($2 AS TIMESTAMPTZ) WHERE key = $1

-- name: SegmentValueKeysStale
-- The keys of no segment of the config nor of the run or preview at hand
-- ($1) beyond the $2 most recently used: previews' conditions, kept a
-- while for the counts that follow.
SELECT key FROM segment_event_keys WHERE key NOT IN (SELECT unnest(CAST($1 AS BIGINT[]))) ORDER BY used_at DESC, key OFFSET $2

-- name: SegmentValuesDrop
DELETE FROM segment_event_values WHERE key IN (SELECT unnest(CAST($1 AS BIGINT[])))

-- name: SegmentValueKeysDrop
DELETE FROM segment_event_keys WHERE key IN (SELECT unnest(CAST($1 AS BIGINT[])))
