-- The controlled-drugs register (docs/clinical-rules.md §8): one page per product, append-only entries chained by
-- hash, stock checks, and the discrepancies found.

-- Where each page stands. The only mutable part of the register: it is checked against the entries by `verify`.
CREATE TABLE pages (
    product    text    PRIMARY KEY,
    page_id    uuid    NOT NULL UNIQUE,
    seq        integer NOT NULL DEFAULT 0,
    balance_mg numeric(14, 3) NOT NULL DEFAULT 0,
    last_hash  text    NOT NULL
);

CREATE TABLE entries (
    id              uuid           PRIMARY KEY,
    product         text           NOT NULL REFERENCES pages (product),
    seq             integer        NOT NULL,
    kind            text           NOT NULL CHECK (kind IN ('receipt', 'administration', 'wastage', 'correction')),
    amount_mg       numeric(14, 3) NOT NULL,
    balance_mg      numeric(14, 3) NOT NULL,
    occurred_at     timestamptz    NOT NULL,
    recorded_at     timestamptz    NOT NULL,
    recorded_by     text           NOT NULL,
    witnessed_by    text,
    batch           text,
    supplier        text,
    expiry          date,
    pathway_id      uuid,
    session_id      uuid,
    volume_ml       numeric(8, 3),
    relates_to      uuid REFERENCES entries (id),
    reason          text,
    remainder_mg    numeric(14, 3),
    rule_set_version text          NOT NULL,
    prev_hash       text           NOT NULL,
    hash            text           NOT NULL,
    UNIQUE (product, seq)
);
-- One administration per dosing session, however often its event is delivered.
CREATE UNIQUE INDEX entries_one_administration_per_session ON entries (session_id) WHERE kind = 'administration';
CREATE INDEX entries_relates_to ON entries (relates_to) WHERE relates_to IS NOT NULL;
CREATE INDEX entries_open_remainders ON entries (recorded_at) WHERE kind = 'administration' AND remainder_mg > 0;
COMMENT ON TABLE entries IS 'append-only';

CREATE TABLE stock_checks (
    id          uuid           PRIMARY KEY,
    product     text           NOT NULL REFERENCES pages (product),
    counted_mg  numeric(14, 3) NOT NULL,
    register_mg numeric(14, 3) NOT NULL,
    counted_by  text           NOT NULL,
    witnessed_by text          NOT NULL,
    checked_at  timestamptz    NOT NULL,
    after_seq   integer        NOT NULL
);
COMMENT ON TABLE stock_checks IS 'append-only';

CREATE FUNCTION register_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the controlled-drugs register is append-only: correct an entry with a new one';
END $$;
CREATE TRIGGER entries_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON entries
    FOR EACH STATEMENT EXECUTE FUNCTION register_is_append_only();
CREATE TRIGGER stock_checks_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON stock_checks
    FOR EACH STATEMENT EXECUTE FUNCTION register_is_append_only();

-- What does not add up, until the clinical lead or the accountable officer resolves it.
CREATE TABLE discrepancies (
    id            uuid           PRIMARY KEY,
    product       text           NOT NULL,
    kind          text           NOT NULL,
    difference_mg numeric(14, 3),
    entry_id      uuid,
    session_id    uuid,
    stock_check_id uuid,
    found_at      timestamptz    NOT NULL,
    resolved_at   timestamptz,
    resolved_by   text,
    resolution    text
);
-- One discrepancy of a kind per entry (the wastage watch may look at an entry many times) and per dose event.
CREATE UNIQUE INDEX discrepancies_once_per_entry ON discrepancies (kind, entry_id) WHERE entry_id IS NOT NULL;
CREATE UNIQUE INDEX discrepancies_once_per_session ON discrepancies (kind, session_id) WHERE session_id IS NOT NULL;
CREATE INDEX discrepancies_open ON discrepancies (found_at) WHERE resolved_at IS NULL;
