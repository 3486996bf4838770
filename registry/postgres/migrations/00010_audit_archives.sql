-- Archives of the trail (issue 15, part 4): entries older than the
-- policy's retention are exported to files, with the signed checkpoint
-- and the proof that cover them, and then removed from audit_entries.
-- audit_archives records each removal (append-only): the trail in the
-- database then starts after the newest archive's last entry, and
-- `audit verify --archives DIR` reads the files before the database.
-- The log's stored hashes (log_nodes) stay: they are hashes of keyed
-- commitments, and keep every proof servable.
--
-- Removal goes through degreegate_audit_archive only: the append-only
-- trigger of audit_entries lets a DELETE through while that function
-- has set degreegate.archiving for its transaction, and never an UPDATE
-- or TRUNCATE. (The tables' owner could always turn the trigger off; the
-- log's checkpoints are what catches the owner.)
--
-- No Down section: the trail must outlive any schema rollback.

-- +goose Up
CREATE TABLE audit_archives (
    last_seq    bigint PRIMARY KEY CHECK (last_seq >= 1),
    first_seq   bigint NOT NULL CHECK (first_seq >= 1 AND first_seq <= last_seq),
    file_sha256 bytea NOT NULL CHECK (length(file_sha256) = 32),
    archived_at timestamptz NOT NULL DEFAULT now()
);

CREATE TRIGGER audit_archives_append_only
    BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_archives
    FOR EACH STATEMENT EXECUTE FUNCTION degreegate_append_only();

-- +goose StatementBegin
CREATE FUNCTION degreegate_audit_entries_keep() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND current_setting('degreegate.archiving', true) = 'on' THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION '% on %.% is forbidden: the table is append-only (Art. 15, Art. 16)',
        TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END
$$;
-- +goose StatementEnd

DROP TRIGGER audit_entries_append_only ON audit_entries;
CREATE TRIGGER audit_entries_append_only
    BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_entries
    FOR EACH STATEMENT EXECUTE FUNCTION degreegate_audit_entries_keep();

-- degreegate_audit_archive removes entries first_seq..last_seq, which
-- must be the oldest the database holds and end before the head, and
-- records the archive that holds them.
-- +goose StatementBegin
CREATE FUNCTION degreegate_audit_archive(first bigint, last bigint, sha bytea) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    head_seq bigint;
    oldest bigint;
    removed bigint;
BEGIN
    SELECT seq INTO head_seq FROM audit_head FOR UPDATE;
    IF last >= head_seq THEN
        RAISE EXCEPTION 'an archive must end before the head (%), not at %', head_seq, last
            USING ERRCODE = 'check_violation';
    END IF;
    SELECT min(seq) INTO oldest FROM audit_entries;
    IF oldest IS DISTINCT FROM first THEN
        RAISE EXCEPTION 'an archive must start at the oldest entry held (%), not at %', oldest, first
            USING ERRCODE = 'check_violation';
    END IF;
    PERFORM set_config('degreegate.archiving', 'on', true);
    DELETE FROM audit_entries WHERE seq BETWEEN first AND last;
    GET DIAGNOSTICS removed = ROW_COUNT;
    PERFORM set_config('degreegate.archiving', 'off', true);
    IF removed <> last - first + 1 THEN
        RAISE EXCEPTION 'entries % to % are not all held (% found)', first, last, removed
            USING ERRCODE = 'check_violation';
    END IF;
    INSERT INTO audit_archives (last_seq, first_seq, file_sha256) VALUES (last, first, sha);
    RETURN removed;
END
$$;
-- +goose StatementEnd
