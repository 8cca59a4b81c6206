-- A claim only writes claimed_by and claimed_until, columns no index holds:
-- with room left on the row's page, PostgreSQL updates it in place (HOT)
-- and adds no index entries, so the queue's partial indexes gather half the
-- dead entries a claim must walk past until the next sweep
-- (queue_sweeper.go). Applies to pages written from now on.
ALTER TABLE ctj_deliveries SET (fillfactor = 70);
