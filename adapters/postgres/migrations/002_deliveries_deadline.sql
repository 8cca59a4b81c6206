-- The give-up check runs every delivery round: it finds pending leads past
-- their deadline through this index instead of scanning the pending ones.
CREATE INDEX IF NOT EXISTS ctj_deliveries_deadline ON ctj_deliveries (deadline_at) WHERE status = 'pending';
