-- Tracking plan violations (package trackplan). Every statement takes
-- whole batches as parallel arrays: one statement per batch.

-- name: TrackingPlanCountsAdd
-- Adds $4 to the counts of the (event type $1, rule $2, mode $3) in hour $5.
INSERT INTO tracking_plan_counts (event_type, rule, mode, hour, count, last_at)
SELECT event_type, rule, mode, CAST($5 AS TIMESTAMPTZ), n, CAST($6 AS TIMESTAMPTZ)
FROM (SELECT unnest(CAST($1 AS TEXT[])) AS event_type, unnest(CAST($2 AS TEXT[])) AS rule,
             unnest(CAST($3 AS TEXT[])) AS mode, unnest(CAST($4 AS BIGINT[])) AS n) d
ON CONFLICT (event_type, rule, mode, hour) DO UPDATE
SET count = tracking_plan_counts.count + excluded.count, last_at = excluded.last_at

-- name: TrackingPlanCountsPrune
-- Forgets the hours before $1.
DELETE FROM tracking_plan_counts WHERE hour < CAST($1 AS TIMESTAMPTZ)

-- name: TrackingPlanExamplesAdd
-- Keeps the examples of a batch; an event seen again (a retry) adds none.
INSERT INTO tracking_plan_examples (event_type, rule, event_id, source_id, mode, event_time, recorded_at, message, instance_path)
SELECT event_type, rule, event_id, source_id, mode, CAST(event_time AS TIMESTAMPTZ), CAST($9 AS TIMESTAMPTZ), message, instance_path
FROM (SELECT unnest(CAST($1 AS TEXT[])) AS event_type, unnest(CAST($2 AS TEXT[])) AS rule,
             unnest(CAST($3 AS TEXT[])) AS event_id, unnest(CAST($4 AS TEXT[])) AS source_id,
             unnest(CAST($5 AS TEXT[])) AS mode, unnest(CAST($6 AS TEXT[])) AS event_time,
             unnest(CAST($7 AS TEXT[])) AS message, unnest(CAST($8 AS TEXT[])) AS instance_path) d
ON CONFLICT (event_type, rule, event_id) DO NOTHING

-- name: TrackingPlanExamplesPrune
-- Keeps the newest $2 examples of each rule of the event types $1.
DELETE FROM tracking_plan_examples WHERE EXISTS (
    SELECT 1 FROM (
        SELECT event_type, rule, event_id,
               row_number() OVER (PARTITION BY event_type, rule ORDER BY recorded_at DESC, event_id DESC) AS n
        FROM tracking_plan_examples WHERE event_type IN (SELECT unnest(CAST($1 AS TEXT[])))) r
    WHERE r.n > $2 AND r.event_type = tracking_plan_examples.event_type
      AND r.rule = tracking_plan_examples.rule AND r.event_id = tracking_plan_examples.event_id)

-- name: TrackingPlanCountsList
-- The counts since hour $2 of event type $1 ('' for all; a source/type
-- without version names all its versions).
SELECT event_type, rule, mode, sum(count), max(last_at)
FROM tracking_plan_counts
WHERE ($1 = '' OR event_type = $1 OR starts_with(event_type, $1 || '/')) AND hour >= CAST($2 AS TIMESTAMPTZ)
GROUP BY event_type, rule, mode
ORDER BY event_type, rule, mode

-- name: TrackingPlanExamplesList
-- The examples recorded since $2 of event type $1, newest first.
SELECT event_type, rule, event_id, source_id, mode, event_time, recorded_at, message, instance_path
FROM tracking_plan_examples
WHERE ($1 = '' OR event_type = $1 OR starts_with(event_type, $1 || '/')) AND recorded_at >= CAST($2 AS TIMESTAMPTZ)
ORDER BY recorded_at DESC, event_id DESC, event_type, rule
LIMIT $3
