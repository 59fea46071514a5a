-- Tracking plan violations (package trackplan), bounded in size: counts
-- per event type, rule and mode by the hour, and the last few examples of
-- each event type and rule. Examples hold paths, keywords and schema
-- values, never a payload value (so erasure has nothing to remove here).

-- How many events of a type failed a rule, in each hour. rule is the
-- schema location of the keyword that failed ("/properties/total/minimum");
-- mode is reject or flag.
CREATE TABLE tracking_plan_counts (
    event_type TEXT NOT NULL,
    rule       TEXT NOT NULL,
    mode       TEXT NOT NULL,
    hour       TIMESTAMPTZ NOT NULL,
    count      BIGINT NOT NULL,
    last_at    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (event_type, rule, mode, hour)
);

-- The newest examples of each event type and rule (trackplan.ExamplesKept
-- of them). instance_path is where in the payload the rule failed, with
-- the property names no schema declares masked as "*".
CREATE TABLE tracking_plan_examples (
    event_type    TEXT NOT NULL,
    rule          TEXT NOT NULL,
    event_id      TEXT NOT NULL,
    source_id     TEXT NOT NULL,
    mode          TEXT NOT NULL,
    event_time    TIMESTAMPTZ NOT NULL,
    recorded_at   TIMESTAMPTZ NOT NULL,
    message       TEXT NOT NULL,
    instance_path TEXT NOT NULL,
    PRIMARY KEY (event_type, rule, event_id)
);
