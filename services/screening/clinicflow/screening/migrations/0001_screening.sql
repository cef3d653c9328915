-- Coded facts screening learns from intake's events (never identifiers).
CREATE TABLE pathway_facts (
    pathway_id uuid        PRIMARY KEY,
    age_band   text        NOT NULL,
    concerns   text[]      NOT NULL,
    noted_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE screening_cases (
    pathway_id           uuid        PRIMARY KEY,
    status               text        NOT NULL CHECK (status IN ('open', 'signed_off', 'closed')),
    opened_at            timestamptz NOT NULL,
    history              jsonb,
    proposal             text CHECK (proposal IN ('eligible', 'needs_review', 'ineligible')),
    absolute_codes       text[],
    relative_codes       text[],
    proposal_rules       text,
    risk_review_required boolean     NOT NULL DEFAULT false,
    outcome              text CHECK (outcome IN ('eligible', 'ineligible')),
    overridden           boolean     NOT NULL DEFAULT false,
    override_reason      text,
    signed_by            text,
    signed_at            timestamptz,
    closed_reason        text
);

-- Answers are part of the clinical record here; they never leave this schema.
CREATE TABLE measures (
    id               uuid        PRIMARY KEY,
    pathway_id       uuid        NOT NULL REFERENCES screening_cases (pathway_id),
    instrument       text        NOT NULL,
    answers          integer[]   NOT NULL,
    total            integer     NOT NULL,
    band             text        NOT NULL,
    flags            text[]      NOT NULL,
    context          text        NOT NULL CHECK (context IN ('baseline', 'pre_session', 'follow_up')),
    rule_set_version text        NOT NULL,
    recorded_by      text        NOT NULL,
    recorded_at      timestamptz NOT NULL,
    request_key      text        UNIQUE
);
CREATE INDEX measures_by_pathway ON measures (pathway_id, recorded_at);

CREATE TABLE risk_flags (
    alert_id         uuid        PRIMARY KEY,
    pathway_id       uuid        NOT NULL REFERENCES screening_cases (pathway_id),
    measure_id       uuid        REFERENCES measures (id),
    reason           text        NOT NULL,
    severity         text        NOT NULL,
    rule_set_version text        NOT NULL,
    raised_at        timestamptz NOT NULL,
    acknowledged_by  text,
    acknowledged_at  timestamptz,
    reviewed_by      text,
    reviewed_at      timestamptz,
    risk_level       text
);
