-- One row per (event, recipient, channel): the unique key is what makes each notification go out once.
CREATE TABLE deliveries (
    id              uuid        PRIMARY KEY,
    event_id        uuid        NOT NULL,
    event_type      text        NOT NULL,
    pathway_id      uuid        NOT NULL,
    recipient_id    text        NOT NULL,
    recipient_role  text        NOT NULL,
    channel         text        NOT NULL CHECK (channel IN ('inbox', 'email', 'chat', 'sms')),
    priority        text        NOT NULL,
    title           text        NOT NULL,
    body            text        NOT NULL,
    link            text        NOT NULL,
    alert_id        uuid,
    status          text        NOT NULL CHECK (status IN ('pending', 'sent', 'failed')),
    attempts        integer     NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL,
    last_error      text,
    sent_at         timestamptz,
    created_at      timestamptz NOT NULL,
    UNIQUE (event_id, recipient_id, channel)
);
CREATE INDEX deliveries_pending ON deliveries (next_attempt_at) WHERE status = 'pending';

CREATE TABLE inbox_items (
    id              uuid        PRIMARY KEY REFERENCES deliveries (id),
    recipient_id    text        NOT NULL,
    priority        text        NOT NULL,
    title           text        NOT NULL,
    body            text        NOT NULL,
    link            text        NOT NULL,
    pathway_id      uuid        NOT NULL,
    event_type      text        NOT NULL,
    alert_id        uuid,
    created_at      timestamptz NOT NULL,
    acknowledged_at timestamptz
);
CREATE INDEX inbox_by_recipient ON inbox_items (recipient_id, created_at);

-- Urgent alerts and their escalation timer (durable: survives restarts).
CREATE TABLE alerts (
    alert_id          uuid        PRIMARY KEY,
    event_id          uuid        NOT NULL,
    event_type        text        NOT NULL,
    pathway_id        uuid        NOT NULL,
    on_call_role      text        NOT NULL,
    level             integer     NOT NULL,
    current_recipient text        NOT NULL,
    title             text        NOT NULL,
    body              text        NOT NULL,
    link              text        NOT NULL,
    escalate_at       timestamptz,
    status            text        NOT NULL CHECK (status IN ('open', 'acknowledged')),
    acknowledged_by   text,
    acknowledged_at   timestamptz,
    created_at        timestamptz NOT NULL
);
CREATE INDEX alerts_to_escalate ON alerts (escalate_at) WHERE status = 'open';
