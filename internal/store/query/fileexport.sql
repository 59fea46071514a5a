-- File exports (package destination/fileexport): the cursor of a
-- destination of segment changes, moved once its file is committed.

-- name: FileExportCursor
SELECT coalesce(max(segment_seq), 0) FROM destination_cursors WHERE destination_id = $1

-- name: FileExportChangesEnd
-- The last segment change recorded: the segments job writes them one run
-- at a time, so every change up to it is committed.
SELECT coalesce(max(seq), 0) FROM segment_changes

-- name: FileExportCursorAdvance
-- Never backwards: a run resumed after a later one moved it leaves it.
INSERT INTO destination_cursors (destination_id, segment_seq, updated_at)
VALUES ($1, $2, CAST($3 AS TIMESTAMPTZ))
ON CONFLICT (destination_id) DO UPDATE
SET segment_seq = GREATEST(destination_cursors.segment_seq, excluded.segment_seq), updated_at = excluded.updated_at

-- name: FileExportChangesCount
SELECT count(*) FROM segment_changes WHERE segment_id = $1 AND seq > $2 AND seq <= $3

-- name: FileExportProfilesWritten
-- The queued profiles of $1 were written: their hashes are the ones last
-- sent (destination_profiles, the webhook's changed-profile detection).
INSERT INTO destination_profiles (destination_id, entity_id, hash, sent_at)
SELECT destination_id, entity_id, hash, CAST($2 AS TIMESTAMPTZ) FROM destination_profile_queue WHERE destination_id = $1
ON CONFLICT (destination_id, entity_id) DO UPDATE SET hash = excluded.hash, sent_at = excluded.sent_at

-- name: FileExportProfilesDequeue
DELETE FROM destination_profile_queue WHERE destination_id = $1
