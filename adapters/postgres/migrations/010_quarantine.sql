-- ctj_poison, watermill-sql's topic table for the projection's poison
-- queue, is the quarantine: the log records the projection set aside. Each
-- row now names its record's key in the log, (log_transaction_id,
-- position), once: the projection sets a record aside in the transaction
-- that moves its offset past it; the order the record names when it can be
-- read; and why it was set aside. (Its own transaction_id is watermill's:
-- the transaction that wrote the row.)
ALTER TABLE ctj_poison ADD COLUMN IF NOT EXISTS position bigint;
ALTER TABLE ctj_poison ADD COLUMN IF NOT EXISTS log_transaction_id xid8;
ALTER TABLE ctj_poison ADD COLUMN IF NOT EXISTS order_id text;
ALTER TABLE ctj_poison ADD COLUMN IF NOT EXISTS error text;

-- Rows the poison queue wrote before: their position and reason are in
-- watermill's metadata; a record poisoned twice keeps its last row.
UPDATE ctj_poison SET position = (metadata->>'position')::bigint,
    log_transaction_id = (metadata->>'transaction_id')::xid8,
    error = split_part(metadata->>'reason_poisoned', E'\n', 1),
    order_id = CASE WHEN jsonb_typeof(payload) = 'object' AND jsonb_typeof(payload->'order_id') = 'string'
        THEN payload->>'order_id' END
WHERE position IS NULL AND metadata->>'position' ~ '^[0-9]+$' AND metadata->>'transaction_id' ~ '^[0-9]+$';
DELETE FROM ctj_poison p WHERE EXISTS (
    SELECT 1 FROM ctj_poison q WHERE q.position = p.position AND q."offset" > p."offset");

CREATE UNIQUE INDEX IF NOT EXISTS ctj_poison_position ON ctj_poison (position);
CREATE INDEX IF NOT EXISTS ctj_poison_order ON ctj_poison (order_id) WHERE order_id IS NOT NULL;
