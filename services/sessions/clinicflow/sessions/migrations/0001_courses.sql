CREATE TABLE courses (
    id               uuid        PRIMARY KEY,
    pathway_id       uuid        NOT NULL UNIQUE,
    status           text        NOT NULL CHECK (status IN ('active', 'completed')),
    planned_sessions integer     NOT NULL,
    indications      text[]      NOT NULL,
    age_band         text,
    baseline_phq9    integer,
    latest_phq9      integer,
    started_at       timestamptz NOT NULL,
    completed_at     timestamptz
);

CREATE TABLE dosing_sessions (
    id                       uuid        PRIMARY KEY,
    course_id                uuid        NOT NULL REFERENCES courses (id),
    pathway_id               uuid        NOT NULL,
    status                   text        NOT NULL
                             CHECK (status IN ('scheduled', 'ready', 'deferred', 'dosed', 'discharged')),
    scheduled_at             timestamptz NOT NULL,
    weight_kg                numeric,
    deferral_reasons         text[]      NOT NULL DEFAULT '{}',
    pre_dose_override_reason text,
    route                    text,
    dose_mg                  numeric,
    dose_mg_per_kg           numeric,
    dose_weight_kg           numeric,
    dose_within_protocol     boolean,
    dose_override_reason     text,
    dosed_at                 timestamptz,
    discharged_at            timestamptz,
    discharged_by            text,
    session_number           integer,
    adverse_event_codes      text[]      NOT NULL DEFAULT '{}',
    rule_set_version         text
);
CREATE INDEX dosing_sessions_by_course ON dosing_sessions (course_id, scheduled_at);

CREATE TABLE vitals (
    id           bigserial   PRIMARY KEY,
    session_id   uuid        NOT NULL REFERENCES dosing_sessions (id),
    phase        text        NOT NULL CHECK (phase IN ('pre_dose', 'in_session')),
    measured_at  timestamptz NOT NULL,
    systolic     integer     NOT NULL,
    diastolic    integer     NOT NULL,
    heart_rate   integer     NOT NULL,
    spo2         integer     NOT NULL,
    moaas        integer,
    cadss        integer[],
    breached     text[]      NOT NULL DEFAULT '{}'
);
CREATE INDEX vitals_by_session ON vitals (session_id, measured_at);

CREATE TABLE vitals_alerts (
    alert_id         uuid        PRIMARY KEY,
    session_id       uuid        NOT NULL REFERENCES dosing_sessions (id),
    breached         text[]      NOT NULL,
    rule_set_version text        NOT NULL,
    raised_at        timestamptz NOT NULL,
    acknowledged_by  text,
    acknowledged_at  timestamptz
);

-- Integration therapy after each session; the two *_published_at columns make the scheduler fire each event once.
CREATE TABLE integrations (
    id                    uuid        PRIMARY KEY,
    session_id            uuid        NOT NULL UNIQUE REFERENCES dosing_sessions (id),
    course_id             uuid        NOT NULL REFERENCES courses (id),
    pathway_id            uuid        NOT NULL,
    opens_at              timestamptz NOT NULL,
    due_by                timestamptz NOT NULL,
    due_published_at      timestamptz,
    overdue_published_at  timestamptz,
    completed_at          timestamptz,
    completed_by          text
);
CREATE INDEX integrations_due ON integrations (opens_at) WHERE due_published_at IS NULL;
CREATE INDEX integrations_overdue ON integrations (due_by) WHERE overdue_published_at IS NULL AND completed_at IS NULL;
