-- The fixed statements of the SQL stitching baseline (package bench,
-- "weft bench stitch --baseline sql"): what a warehouse-native identity
-- model (a dbt identity package, a SQL-only CDP) does, min-label
-- propagation over an identifier-keyed edge table, on temporary tables of
-- one connection. The statement that evaluates the stitching rules into
-- bl_ident (seq, category, value) is built from the rules by package bench.

-- name: StitchBaselineEventColumns
SELECT column_name FROM information_schema.columns
 WHERE table_name = 'event_log' AND table_schema = current_schema() ORDER BY ordinal_position

-- name: StitchBaselineKeys
-- Each identifier gets an integer key, and its starting label: the
-- smallest seq of the events that carry it.
CREATE TEMP TABLE bl_key AS
SELECT row_number() OVER () AS k, category, value, min(seq) AS l FROM bl_ident GROUP BY category, value

-- name: StitchBaselineEdges
CREATE TEMP TABLE bl_edge AS
SELECT i.seq, k.k FROM bl_ident i JOIN bl_key k ON k.category = i.category AND k.value = i.value

-- name: StitchBaselineLabels
CREATE TEMP TABLE bl_label AS SELECT k, l FROM bl_key

-- name: StitchBaselineEvents
-- Each event with identifiers: how many it carries (n) and one of them (k).
CREATE TEMP TABLE bl_event AS SELECT seq, count(*) AS n, min(k) AS k FROM bl_edge GROUP BY seq

-- name: StitchBaselineBridges
-- The events that carry two identifiers or more: only they carry a label
-- from one identifier to another (an event with one identifier takes that
-- identifier's label and gives it nothing smaller back).
CREATE TEMP TABLE bl_bridge AS
SELECT e.seq, e.k FROM bl_edge e JOIN bl_event v ON v.seq = e.seq WHERE v.n > 1

-- name: StitchBaselineFrontier
-- The identifiers whose label changed in the last round: all of them before
-- the first.
CREATE TEMP TABLE bl_changed AS SELECT DISTINCT k FROM bl_bridge

-- name: StitchBaselineRound
-- One round of min-label propagation, semi-naive: an event's label becomes
-- the smallest label of its identifiers, an identifier's the smallest label
-- of its events. Only events with an identifier whose label changed in the
-- last round can change anything; the others gave their label already.
-- bl_next holds the identifiers whose label drops this round.
CREATE TEMP TABLE bl_next AS
WITH ev AS (
    SELECT DISTINCT b.seq FROM bl_bridge b JOIN bl_changed c ON c.k = b.k
), ev_label AS (
    SELECT b.seq, min(l.l) AS l FROM bl_bridge b JOIN ev ON ev.seq = b.seq JOIN bl_label l ON l.k = b.k GROUP BY b.seq
), key_label AS (
    SELECT b.k, min(e.l) AS l FROM bl_bridge b JOIN ev_label e ON e.seq = b.seq GROUP BY b.k
)
SELECT n.k, n.l FROM key_label n JOIN bl_label l ON l.k = n.k WHERE n.l < l.l

-- name: StitchBaselineApply
UPDATE bl_label SET l = n.l FROM bl_next n WHERE bl_label.k = n.k

-- name: StitchBaselineFrontierDrop
DROP TABLE bl_changed

-- name: StitchBaselineFrontierNext
ALTER TABLE bl_next RENAME TO bl_changed

-- name: StitchBaselineResult
-- Every event of seq up to $1 with its label, the smallest seq of its
-- entity; an event without identifiers is an entity of its own.
CREATE TEMP TABLE bl_result AS
SELECT v.seq, l.l AS label FROM bl_event v JOIN bl_label l ON l.k = v.k WHERE v.n = 1
UNION ALL
SELECT b.seq, min(l.l) FROM bl_bridge b JOIN bl_label l ON l.k = b.k GROUP BY b.seq
UNION ALL
SELECT e.seq, e.seq FROM event_log e WHERE e.seq <= $1 AND NOT EXISTS (SELECT 1 FROM bl_event v WHERE v.seq = e.seq)

-- name: StitchBaselineCounts
-- The (event, identifier) rows, the events with two identifiers or more,
-- the entities.
SELECT (SELECT count(*) FROM bl_edge), (SELECT count(DISTINCT seq) FROM bl_bridge),
       (SELECT count(DISTINCT label) FROM bl_result)

-- name: StitchBaselineRead
SELECT seq, label FROM bl_result
