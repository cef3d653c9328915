-- Deliveries: an escalation may reach the same person again (the rota repeats until someone acknowledges), so the
-- once-only key includes the escalation level; a closed or erased enquiry cancels what is still pending for it; an
-- acknowledgement link is single use.
ALTER TABLE deliveries DROP CONSTRAINT deliveries_event_id_recipient_id_channel_key;
ALTER TABLE deliveries ADD COLUMN escalation_level integer NOT NULL DEFAULT 0;
ALTER TABLE deliveries ADD CONSTRAINT deliveries_once UNIQUE (event_id, recipient_id, channel, escalation_level);
ALTER TABLE deliveries DROP CONSTRAINT deliveries_status_check;
ALTER TABLE deliveries ADD CONSTRAINT deliveries_status_check
    CHECK (status IN ('pending', 'sent', 'failed', 'cancelled'));
ALTER TABLE deliveries ADD COLUMN ack_link_used_at timestamptz;
CREATE INDEX deliveries_by_pathway ON deliveries (pathway_id) WHERE status = 'pending';

-- The on-call rota: who is on call for a role, from when to when, in fallback order (position 1 first). Shifts are
-- never deleted, only ended early, so who was on call when an alert fired can always be answered.
CREATE TABLE on_call_shifts (
    id          uuid        PRIMARY KEY,
    role        text        NOT NULL,
    staff_id    text        NOT NULL,
    position    integer     NOT NULL CHECK (position >= 1),
    starts_at   timestamptz NOT NULL,
    ends_at     timestamptz,
    created_by  text        NOT NULL,
    created_at  timestamptz NOT NULL,
    removed_by  text,
    removed_at  timestamptz,
    CHECK (ends_at IS NULL OR ends_at > starts_at)
);
CREATE INDEX on_call_by_role ON on_call_shifts (role, starts_at) WHERE removed_at IS NULL;
