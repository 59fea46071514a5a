-- The version of the suppression list (package erasure): every erasure
-- that adds to the list moves it, so an ingester that keeps the list in
-- memory notices a change with one small read.
ALTER TABLE erasure_state ADD COLUMN list_version BIGINT DEFAULT 0;
