-- Who is on each client's care team, in a service that holds clinical records (docs/contracts.md, care-team access).
-- Staff ids and roles only; members are added (by booking, sign-off, naming the team, acknowledging an alert, or a
-- colleague on the team) and never silently removed.
CREATE TABLE care_team (
    pathway_id  uuid        NOT NULL,
    staff_id    text        NOT NULL,
    role        text        NOT NULL,
    source      text        NOT NULL,
    added_by    text        NOT NULL,
    added_at    timestamptz NOT NULL,
    PRIMARY KEY (pathway_id, staff_id)
);

-- Every read of a client's clinical record, and every refused attempt: who, which record, why (a fixed list), on what
-- ground (on the care team, breaking the glass, or refused) and the reason given for breaking it. It only grows.
CREATE TABLE clinical_reads (
    id                 bigserial   PRIMARY KEY,
    pathway_id         uuid        NOT NULL,
    staff_id           text        NOT NULL,
    resource           text        NOT NULL,
    purpose            text        NOT NULL,
    ground             text        NOT NULL CHECK (ground IN ('care_team', 'break_glass', 'refused')),
    break_glass_reason text,
    read_at            timestamptz NOT NULL
);
CREATE INDEX clinical_reads_pathway ON clinical_reads (pathway_id, read_at);
CREATE INDEX clinical_reads_break_glass ON clinical_reads (read_at) WHERE ground = 'break_glass';
CREATE FUNCTION clinical_reads_are_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'clinical_reads is append-only';
END $$;
CREATE TRIGGER clinical_reads_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON clinical_reads
    FOR EACH STATEMENT EXECUTE FUNCTION clinical_reads_are_append_only();
COMMENT ON TABLE clinical_reads IS 'append-only';
