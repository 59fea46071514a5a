-- Segments (package segment): the per-event results of the event
-- conditions that read payloads (a where, a sum's field), kept so that a
-- run or a preview parses each event's payload once per condition rather
-- than every time. A key is a hash of the condition's event type (with
-- its version), where and field; segment_event_values holds, for every
-- event of the log up to filled_to of that type for which the where
-- holds, the field's value (sum) or 1 (count). Seq order is commit order,
-- so the events after filled_to are exactly those still to evaluate.
-- Erasure and retention delete the rows of the events they delete.
CREATE TABLE segment_event_keys (
    key       BIGINT PRIMARY KEY,
    spec      TEXT NOT NULL,
    filled_to BIGINT NOT NULL,
    used_at   TIMESTAMPTZ NOT NULL
);
CREATE TABLE segment_event_values (
    key BIGINT NOT NULL,
    seq BIGINT NOT NULL,
    v   DOUBLE PRECISION
);
