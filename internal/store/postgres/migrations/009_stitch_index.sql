-- Indexes for the stitcher's look-ups by key hash and its updates of
-- entities by created_seq (unique: one event starts at most one entity).
CREATE UNIQUE INDEX entities_created_seq_idx ON entities (created_seq);
CREATE INDEX identifiers_key_hash_idx ON identifiers (key_hash);
