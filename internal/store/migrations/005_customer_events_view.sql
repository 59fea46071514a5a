-- The log's table becomes event_log, and customer_events a view of it with
-- each event's customer entity, as Meiro's public.customer_events is: SQL
-- written for Meiro (context queries, BI tools) runs against it with only
-- the schema prefix removed. Weft's own statements read event_log.
ALTER TABLE customer_events RENAME TO event_log;

CREATE VIEW customer_events AS
SELECT e.seq, e.id, e.source_id, e.type, e.version, e.event_time, e.payload, e.created_at,
       m.entity_id AS customer_entity_id
FROM event_log e LEFT JOIN entity_events m ON m.event_seq = e.seq;
