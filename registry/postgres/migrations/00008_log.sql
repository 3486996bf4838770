-- The transparency log over the trail (registry/logleaf.go): entry seq is
-- leaf seq-1 of a Merkle tree whose stored hashes (x/mod/sumdb/tlog's
-- layout) are kept here, each leaf's row holding the hashes appending it
-- stored: its own leaf hash, then the root of every subtree it completes,
-- lowest level first. AppendAudit writes entries, their nodes and the
-- head's new log size and root in one transaction.
--
-- A trail written before this migration has entries but no leaves
-- (log_size 0): `degreegate migrate` makes them leaves with the keys,
-- which the database never holds (Store.ExtendLog).
--
-- No Down section: the log must outlive any schema rollback.

-- +goose Up
CREATE TABLE log_nodes (
    leaf   bigint PRIMARY KEY CHECK (leaf >= 0),
    hashes bytea NOT NULL CHECK (length(hashes) >= 32 AND length(hashes) % 32 = 0)
);

CREATE TRIGGER log_nodes_append_only
    BEFORE UPDATE OR DELETE OR TRUNCATE ON log_nodes
    FOR EACH STATEMENT EXECUTE FUNCTION degreegate_append_only();

-- The root of the empty tree is SHA-256 of nothing (RFC 9162, 2.1.1).
ALTER TABLE audit_head
    ADD COLUMN log_size bigint NOT NULL DEFAULT 0 CHECK (log_size >= 0),
    ADD COLUMN log_root bytea NOT NULL DEFAULT sha256(''::bytea);

ALTER TABLE audit_head ADD CONSTRAINT audit_head_log_within_trail CHECK (log_size <= seq);

-- The head moves forward: the trail, the log, or both; the log only
-- over entries that exist.
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION degreegate_audit_head_forward() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    linked boolean;
BEGIN
    IF NEW.seq < OLD.seq OR NEW.log_size < OLD.log_size
       OR (NEW.seq = OLD.seq AND NEW.log_size = OLD.log_size) THEN
        RAISE EXCEPTION 'audit head may only move forward'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF NEW.seq = OLD.seq AND NEW.hash IS DISTINCT FROM OLD.hash THEN
        RAISE EXCEPTION 'audit head must name an existing entry'
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
