-- The embedded store's tables: the PostgreSQL store's names and columns,
-- in SQLite's types. Times are UTC text of fixed width
-- (2026-11-24T07:15:00.000000000Z), so that text order is time order.
-- The log itself (ctj_log, ctj_log_offsets) is watermill-sql's, created
-- by its schema adapters before the migrations run.

CREATE UNIQUE INDEX IF NOT EXISTS ctj_log_uuid ON ctj_log (uuid);

CREATE TABLE IF NOT EXISTS ctj_order_widgets (
    order_id  TEXT PRIMARY KEY,
    widget_id TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS ctj_widget_policies (
    widget_id  TEXT PRIMARY KEY,
    version    INTEGER NOT NULL,
    policy     TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS ctj_deliveries (
    key             TEXT PRIMARY KEY,
    order_id        TEXT NOT NULL,
    widget_id       TEXT NOT NULL,
    payload         TEXT NOT NULL,
    status          TEXT NOT NULL DEFAULT 'pending',
    tries           INTEGER NOT NULL DEFAULT 0,
    decided_at      TEXT NOT NULL,
    deadline_at     TEXT NOT NULL,
    next_attempt_at TEXT NOT NULL,
    claimed_by      TEXT,
    claimed_until   TEXT,
    delivered_at    TEXT
);
CREATE INDEX IF NOT EXISTS ctj_deliveries_due ON ctj_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX IF NOT EXISTS ctj_deliveries_deadline ON ctj_deliveries (deadline_at) WHERE status = 'pending';

CREATE TABLE IF NOT EXISTS ctj_policy_versions (
    widget_id    TEXT NOT NULL,
    version      INTEGER NOT NULL,
    policy       TEXT NOT NULL,
    token_masked TEXT NOT NULL,
    position     INTEGER NOT NULL,
    recorded_at  TEXT NOT NULL,
    PRIMARY KEY (widget_id, version)
);

CREATE TABLE IF NOT EXISTS ctj_orders (
    order_id       TEXT PRIMARY KEY,
    widget_id      TEXT NOT NULL,
    policy_version INTEGER,
    placed         BOOLEAN NOT NULL DEFAULT false,
    kind           TEXT,
    has_session_id BOOLEAN,
    ordered_at     TEXT,
    scheduled_at   TEXT,
    first_position INTEGER NOT NULL,
    last_position  INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS ctj_orders_widget ON ctj_orders (widget_id);

-- seq numbers the events in fold order; the fact stays in its log record
-- (ctj_log."offset" = position). transaction_id is the PostgreSQL store's
-- column, kept so the tables match: SQLite's log needs none, it holds 0.
CREATE TABLE IF NOT EXISTS ctj_order_events (
    seq            INTEGER NOT NULL,
    position       INTEGER PRIMARY KEY,
    event_id       TEXT NOT NULL,
    order_id       TEXT NOT NULL,
    widget_id      TEXT NOT NULL,
    type           TEXT NOT NULL,
    attempt        INTEGER,
    occurred_at    TEXT NOT NULL,
    recorded_at    TEXT NOT NULL,
    note           TEXT,
    transaction_id INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS ctj_order_events_order ON ctj_order_events (order_id, seq);

CREATE TABLE IF NOT EXISTS ctj_decisions (
    order_id       TEXT NOT NULL,
    widget_id      TEXT NOT NULL,
    attempt        INTEGER NOT NULL, -- 0: decided at order time
    decision       TEXT NOT NULL,    -- send, skip, wait
    key            TEXT UNIQUE,
    reason         TEXT NOT NULL,
    warnings       TEXT NOT NULL DEFAULT '[]',
    policy_version INTEGER,
    payload        TEXT,
    decided_at     TEXT NOT NULL,
    decided_by     TEXT NOT NULL,
    status         TEXT NOT NULL,    -- pending, delivered, failed, skipped, waiting
    tries          INTEGER NOT NULL DEFAULT 0,
    delivered_at   TEXT,
    PRIMARY KEY (order_id, attempt)
);
CREATE INDEX IF NOT EXISTS ctj_decisions_recent ON ctj_decisions (decided_at DESC, order_id DESC, attempt DESC);
CREATE INDEX IF NOT EXISTS ctj_decisions_widget ON ctj_decisions (widget_id, decided_at DESC);

CREATE TABLE IF NOT EXISTS ctj_delivery_tries (
    seq         INTEGER NOT NULL,
    position    INTEGER PRIMARY KEY,
    key         TEXT NOT NULL,
    try         INTEGER NOT NULL,
    at          TEXT NOT NULL,
    duration_ms INTEGER NOT NULL,
    http_status INTEGER,
    response    TEXT NOT NULL,
    error       TEXT,
    outcome     TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS ctj_delivery_tries_key ON ctj_delivery_tries (key, seq);

-- Log records the projection set aside (contract.md, Quarantine).
CREATE TABLE IF NOT EXISTS ctj_poison (
    position    INTEGER PRIMARY KEY,
    order_id    TEXT,
    error       TEXT NOT NULL,
    at          TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    payload     BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS ctj_poison_order ON ctj_poison (order_id) WHERE order_id IS NOT NULL;
