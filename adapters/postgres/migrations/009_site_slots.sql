-- ctj_site_slots spaces the requests to each Calltouch site across every
-- serve on the database (CTJ_CALLTOUCH_RPS): next_at is the earliest time
-- the site may get its next request. Each request takes the slot and moves
-- next_at one interval on, in one statement (SiteRate).
CREATE TABLE IF NOT EXISTS ctj_site_slots (
    site_id text PRIMARY KEY,
    next_at timestamptz NOT NULL
);
