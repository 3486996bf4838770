-- The audit trail (Art. 15): append-only entries, each hash-chained to
-- the one before (registry.Link), and a one-row head naming the newest
-- link. AppendAudit locks the head row (SELECT … FOR UPDATE) inside the
-- transaction that inserts the entries and moves the head, which makes
-- every appender, in any process or replica, extend one linear chain.
--
-- No Down section: the trail must outlive any schema rollback.

-- +goose Up
CREATE TABLE audit_entries (
    seq        bigint PRIMARY KEY CHECK (seq >= 1),
    at         timestamptz NOT NULL,
    actor      text NOT NULL,
    action     text NOT NULL,
    record_ref text NOT NULL,
    purpose    text NOT NULL,
    -- text, not jsonb: jsonb would normalise the JSON and break the hash.
    detail     text NOT NULL,
    prev_hash  bytea NOT NULL,
    hash       bytea NOT NULL
);

CREATE TABLE audit_head (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    seq      bigint NOT NULL,
    hash     bytea NOT NULL
);

-- The empty trail: sequence 0 and registry.GenesisHash (32 zero bytes).
INSERT INTO audit_head (seq, hash) VALUES (0, decode(repeat('00', 32), 'hex'));

CREATE TRIGGER audit_entries_append_only
    BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_entries
    FOR EACH STATEMENT EXECUTE FUNCTION degreegate_append_only();

CREATE TRIGGER audit_head_keep
    BEFORE DELETE OR TRUNCATE ON audit_head
    FOR EACH STATEMENT EXECUTE FUNCTION degreegate_append_only();

-- The head only moves forward, and only onto an entry that exists with
-- that hash: a careless or hostile UPDATE cannot rewind it to hide a
-- removed tail.
-- +goose StatementBegin
CREATE FUNCTION degreegate_audit_head_forward() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    linked boolean;
BEGIN
    IF NEW.seq <= OLD.seq THEN
        RAISE EXCEPTION 'audit head may only move forward'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    -- Qualified by the trigger's own schema, never the session's
    -- search_path, so no session can point the check elsewhere.
    EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I.audit_entries WHERE seq = $1 AND hash = $2)', TG_TABLE_SCHEMA)
        INTO linked USING NEW.seq, NEW.hash;
    IF NOT linked THEN
        RAISE EXCEPTION 'audit head must name an existing entry'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER audit_head_forward
    BEFORE UPDATE ON audit_head
    FOR EACH ROW EXECUTE FUNCTION degreegate_audit_head_forward();
