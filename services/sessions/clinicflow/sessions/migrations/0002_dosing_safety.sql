-- Dosing-session safety (docs/clinical-rules.md §4): who did what and when (the time it happened and the time it
-- was entered), end states, adverse-event reviews, overrides one rule at a time, screening's risk findings for the
-- safety hold, and courses withdrawn when the enquiry is closed or erased.
ALTER TABLE courses DROP CONSTRAINT courses_status_check;
ALTER TABLE courses ADD CONSTRAINT courses_status_check CHECK (status IN ('active', 'completed', 'withdrawn'));
ALTER TABLE courses ADD COLUMN withdrawn_reason text;

ALTER TABLE dosing_sessions DROP CONSTRAINT dosing_sessions_status_check;
ALTER TABLE dosing_sessions ADD CONSTRAINT dosing_sessions_status_check CHECK (status IN (
    'scheduled', 'ready', 'deferred', 'dosed', 'discharged', 'cancelled', 'abandoned', 'transferred_to_hospital'));
ALTER TABLE dosing_sessions DROP COLUMN pre_dose_override_reason;  -- one row per overridden rule, below
ALTER TABLE dosing_sessions
    ADD COLUMN checked_by                text,
    ADD COLUMN check_measured_at         timestamptz,
    ADD COLUMN check_entered_at          timestamptz,
    ADD COLUMN ordered_by                text,
    ADD COLUMN ordered_at                timestamptz,
    ADD COLUMN infusion_minutes          integer,
    ADD COLUMN given_by                  text,
    ADD COLUMN dose_entered_at           timestamptz,
    ADD COLUMN witnessed_by              text,
    ADD COLUMN witnessed_at              timestamptz,
    ADD COLUMN discharge_entered_at      timestamptz,
    ADD COLUMN ended_by                  text,
    ADD COLUMN ended_at                  timestamptz,
    ADD COLUMN ended_entered_at          timestamptz,
    ADD COLUMN ended_reason              text,
    ADD COLUMN adverse_reviewed_by       text,
    ADD COLUMN adverse_reviewed_at       timestamptz;

ALTER TABLE vitals
    ADD COLUMN respiratory_rate integer,
    ADD COLUMN charted_by       text,
    ADD COLUMN entered_at       timestamptz;

-- Every override: the rule, the doctor, their reason (free text: erased with the enquiry), the rules version.
CREATE TABLE session_overrides (
    id               bigserial   PRIMARY KEY,
    session_id       uuid        NOT NULL REFERENCES dosing_sessions (id),
    step             text        NOT NULL CHECK (step IN ('pre_dose', 'dose', 'discharge')),
    rule             text        NOT NULL,
    overridden_by    text        NOT NULL,
    reason           text,
    rule_set_version text        NOT NULL,
    at               timestamptz NOT NULL
);
CREATE INDEX session_overrides_by_session ON session_overrides (session_id, id);

-- Screening's safety flags and risk reviews, per pathway, with the time screening stamped on them: the hold is
-- worked out from these times, whatever order the two topics delivered them in.
CREATE TABLE risk_findings (
    event_id   uuid        PRIMARY KEY,
    pathway_id uuid        NOT NULL,
    level      text        CHECK (level IN ('low', 'moderate', 'high')),  -- NULL: a flag
    at         timestamptz NOT NULL
);
CREATE INDEX risk_findings_by_pathway ON risk_findings (pathway_id, at);

ALTER TABLE integrations ADD COLUMN cancelled_at timestamptz;
