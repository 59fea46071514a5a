-- created_seq (the smallest seq of an entity's events) is unique among
-- live entities only: a split can give a part the created_seq of an
-- entity merged away before. The stitcher's look-ups of refused links and
-- components get indexes.
DROP INDEX entities_created_seq_idx;
CREATE INDEX entities_created_seq_idx ON entities (created_seq);
CREATE INDEX entities_component_idx ON entities (component) WHERE component IS NOT NULL;
CREATE INDEX stitch_refused_key_hash_idx ON stitch_refused (key_hash);
CREATE INDEX stitch_refused_entity_idx ON stitch_refused (entity_id);

