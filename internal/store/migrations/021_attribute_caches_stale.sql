-- Set by an attribute run before it changes values, cleared once its
-- caches and state are written: a run that failed in between (its retry
-- finds nothing due) leaves it set, and the next run counts the caches
-- again instead of losing the failed run's changes.
ALTER TABLE attribute_meta ADD COLUMN caches_stale BOOLEAN DEFAULT FALSE;
