-- The browser origins a key may be used from as a write key of the
-- Segment tracking API (package tracking): a JSON array of origins, "*"
-- for any; empty, no browser origin.
ALTER TABLE api_keys ADD COLUMN allowed_origins TEXT DEFAULT '[]';
