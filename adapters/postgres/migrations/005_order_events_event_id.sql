-- ctj_order_events kept a unique index on event_id: a copy of what the
-- log's own index on uuid (the event_id) already enforces, which no query
-- reads by. Every folded event paid for it with an insert at a random
-- place of a random-keyed index, and after each checkpoint with a full
-- page image in the WAL: 2,000 events folded right after a CHECKPOINT at
-- a million stored wrote 20 MB of WAL with it, 9.7 MB without. Folding an
-- event again still changes nothing: its position, the key, conflicts.
ALTER TABLE ctj_order_events DROP CONSTRAINT IF EXISTS ctj_order_events_event_id_key;
