-- Values that did not convert in a cast of an attribute's expressions
-- became NULL in its last run (package attr): how many events had one, and
-- one of them to look at.
ALTER TABLE attribute_state ADD COLUMN cast_failures BIGINT;
ALTER TABLE attribute_state ADD COLUMN cast_failure_event_id TEXT;
