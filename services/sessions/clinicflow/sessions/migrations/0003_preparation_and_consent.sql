-- Before the first dose: a recorded preparation session (coded topics and safety plan) and the client's written
-- consent to the course (docs/clinical-rules.md §4); who recorded each, when it happened, when it was entered.
ALTER TABLE courses
    ADD COLUMN prepared_by            text,
    ADD COLUMN prepared_at            timestamptz,
    ADD COLUMN preparation_entered_at timestamptz,
    ADD COLUMN preparation_topics     text[],
    ADD COLUMN safety_plan            text[],
    ADD COLUMN consent_recorded_by    text,
    ADD COLUMN consent_signed_at      timestamptz,
    ADD COLUMN consent_entered_at     timestamptz,
    ADD COLUMN consent_form_version   text;
