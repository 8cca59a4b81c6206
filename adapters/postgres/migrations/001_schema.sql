-- The log itself (ctj_log, ctj_log_offsets) is watermill-sql's topic table,
-- created by watermill before this runs; here we add what the log needs on
-- top of it and the tables around it.

-- An event_id is stored once: the idempotency key of ingest.
CREATE UNIQUE INDEX IF NOT EXISTS ctj_log_uuid ON ctj_log (uuid);

-- Write side: which widget each order belongs to (every event of an order
-- names the same widget), checked inside the ingest transaction.
CREATE TABLE IF NOT EXISTS ctj_order_widgets (
    order_id  text PRIMARY KEY,
    widget_id text NOT NULL
);

-- Write side: each widget's latest policy, token included. The log keeps
-- every version without the token.
CREATE TABLE IF NOT EXISTS ctj_widget_policies (
    widget_id  text PRIMARY KEY,
    version    integer NOT NULL,
    policy     jsonb NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- Delivery queue (outbox): one row per lead decided "send". Owned by the
-- delivery worker; a rebuild never touches it.
CREATE TABLE IF NOT EXISTS ctj_deliveries (
    key             text PRIMARY KEY,
    order_id        text NOT NULL,
    widget_id       text NOT NULL,
    payload         jsonb NOT NULL,
    status          text NOT NULL DEFAULT 'pending',
    tries           integer NOT NULL DEFAULT 0,
    decided_at      timestamptz NOT NULL,
    deadline_at     timestamptz NOT NULL,
    next_attempt_at timestamptz NOT NULL,
    claimed_by      text,
    claimed_until   timestamptz,
    delivered_at    timestamptz
);
CREATE INDEX IF NOT EXISTS ctj_deliveries_due ON ctj_deliveries (next_attempt_at) WHERE status = 'pending';

-- Read models, rebuilt from the log by the projection.
CREATE TABLE IF NOT EXISTS ctj_policy_versions (
    widget_id    text NOT NULL,
    version      integer NOT NULL,
    policy       jsonb NOT NULL,
    token_masked text NOT NULL,
    position     bigint NOT NULL,
    recorded_at  timestamptz NOT NULL,
    PRIMARY KEY (widget_id, version)
);

CREATE TABLE IF NOT EXISTS ctj_orders (
    order_id       text PRIMARY KEY,
    widget_id      text NOT NULL,
    policy_version integer,
    placed         boolean NOT NULL DEFAULT false,
    kind           text,
    has_session_id boolean,
    ordered_at     timestamptz,
    scheduled_at   timestamptz,
    first_position bigint NOT NULL,
    last_position  bigint NOT NULL
);
CREATE INDEX IF NOT EXISTS ctj_orders_widget ON ctj_orders (widget_id);

-- seq is the order in which the projection folded the events: the log's
-- order, which is (transaction_id, offset) rather than the offset alone.
CREATE TABLE IF NOT EXISTS ctj_order_events (
    seq         bigserial UNIQUE,
    position    bigint PRIMARY KEY,
    event_id    uuid NOT NULL UNIQUE,
    order_id    text NOT NULL,
    widget_id   text NOT NULL,
    type        text NOT NULL,
    attempt     integer,
    occurred_at timestamptz NOT NULL,
    recorded_at timestamptz NOT NULL,
    note        text,
    fact        jsonb NOT NULL
);
CREATE INDEX IF NOT EXISTS ctj_order_events_order ON ctj_order_events (order_id, seq);

CREATE TABLE IF NOT EXISTS ctj_decisions (
    order_id       text NOT NULL,
    widget_id      text NOT NULL,
    attempt        integer NOT NULL, -- 0: decided at order time
    decision       text NOT NULL,    -- send, skip, wait
    key            text UNIQUE,
    reason         text NOT NULL,
    warnings       jsonb NOT NULL DEFAULT '[]',
    policy_version integer,
    payload        jsonb,
    decided_at     timestamptz NOT NULL,
    decided_by     uuid NOT NULL,
    status         text NOT NULL,    -- pending, delivered, failed, skipped, waiting
    tries          integer NOT NULL DEFAULT 0,
    delivered_at   timestamptz,
    PRIMARY KEY (order_id, attempt)
);
CREATE INDEX IF NOT EXISTS ctj_decisions_recent ON ctj_decisions (decided_at DESC, order_id DESC, attempt DESC);
CREATE INDEX IF NOT EXISTS ctj_decisions_widget ON ctj_decisions (widget_id, decided_at DESC);

CREATE TABLE IF NOT EXISTS ctj_delivery_tries (
    seq         bigserial UNIQUE,
    position    bigint PRIMARY KEY,
    key         text NOT NULL,
    try         integer NOT NULL,
    at          timestamptz NOT NULL,
    duration_ms bigint NOT NULL,
    http_status integer,
    response    text NOT NULL,
    error       text,
    outcome     text NOT NULL
);
CREATE INDEX IF NOT EXISTS ctj_delivery_tries_key ON ctj_delivery_tries (key, seq);
