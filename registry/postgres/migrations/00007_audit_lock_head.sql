-- Locking the audit head by compare-and-lock, so that an appender that
-- knows the head can send the lock, its entries and the move of the
-- head in one round trip (Store.AppendAudit): the lock fails, and with
-- it the whole transaction, unless the head is still where the appender
-- saw it. Taking the head's row lock first, as every appender does,
-- keeps appenders from deadlocking on each other's entries.

-- +goose Up
-- +goose StatementBegin
CREATE FUNCTION degreegate_audit_lock_head(old_seq bigint, old_hash bytea) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    cur_seq bigint;
    cur_hash bytea;
BEGIN
    -- Unqualified, as the appender's own statements: resolved by the
    -- caller's search_path. The head_forward trigger qualifies its check.
    SELECT seq, hash INTO cur_seq, cur_hash FROM audit_head FOR UPDATE;
    IF cur_seq IS DISTINCT FROM old_seq OR cur_hash IS DISTINCT FROM old_hash THEN
        RAISE EXCEPTION 'audit head moved: at %, not %', cur_seq, old_seq
            USING ERRCODE = 'serialization_failure';
    END IF;
END
$$;
-- +goose StatementEnd

-- +goose Down
DROP FUNCTION degreegate_audit_lock_head(bigint, bytea);
