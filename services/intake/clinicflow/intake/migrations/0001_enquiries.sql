-- Enquiries: coded state only. Identifiers live in enquiry_personal_details, encrypted field by field.
CREATE TABLE enquiries (
    id                       uuid        PRIMARY KEY,
    status                   text        NOT NULL CHECK (status IN ('new', 'in_progress', 'booked', 'closed')),
    channel                  text        NOT NULL,
    concerns                 text[]      NOT NULL,
    age_band                 text        NOT NULL,
    preferred_contact_window text        NOT NULL,
    consent_version          text        NOT NULL,
    received_at              timestamptz NOT NULL,
    callback_attempts        integer     NOT NULL DEFAULT 0,
    next_attempt_due         timestamptz,
    funding_route            text,
    assessment_at            timestamptz,
    clinician_id             text,
    closed_reason            text,
    erased_at                timestamptz,
    -- A double click or a redelivered form maps to the same enquiry; the fingerprint spots a reused key.
    submission_key           text        UNIQUE,
    submission_fingerprint   text
);
CREATE INDEX enquiries_worklist ON enquiries (status, received_at);

CREATE TABLE enquiry_personal_details (
    enquiry_id              uuid  PRIMARY KEY REFERENCES enquiries (id),
    first_name              bytea NOT NULL,
    last_name               bytea NOT NULL,
    email                   bytea,
    phone                   bytea,
    date_of_birth           bytea NOT NULL,
    story                   bytea,
    authorisation_reference bytea,
    key_id                  text  NOT NULL
);

CREATE TABLE callback_attempts (
    enquiry_id       uuid        NOT NULL REFERENCES enquiries (id),
    attempt_number   integer     NOT NULL,
    outcome          text        NOT NULL,
    logged_by        text        NOT NULL,
    logged_at        timestamptz NOT NULL,
    next_attempt_due timestamptz,
    PRIMARY KEY (enquiry_id, attempt_number)
);

-- Who read or erased whose details, when and why. Append-only: updates and deletes are refused.
CREATE TABLE audit_log (
    id         bigserial   PRIMARY KEY,
    at         timestamptz NOT NULL DEFAULT now(),
    staff_id   text        NOT NULL,
    action     text        NOT NULL,
    enquiry_id uuid        NOT NULL,
    purpose    text        NOT NULL
);
CREATE FUNCTION audit_log_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END $$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_is_append_only();
