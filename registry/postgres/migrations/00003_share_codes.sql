-- Holder share codes (Art. 22; DESIGN.md "GET /v1/verify/{code}"): a
-- holder shares a fuller report of one certificate through a code. The
-- code is never stored, only its SHA-256, so a copy of this table hands
-- out no working code. Codes are not filed records: a row's views and
-- withdrawn_at change in place, and nothing else of it ever does.

-- +goose Up
CREATE TABLE share_codes (
    hash               bytea PRIMARY KEY CHECK (length(hash) = 32),
    certificate_number text COLLATE "C" NOT NULL CHECK (certificate_number <> ''),
    -- The holder's person index (keyed blind index), never an ID number.
    owner              bytea NOT NULL CHECK (length(owner) > 0),
    level              text NOT NULL CHECK (level <> ''),
    created_at         timestamptz NOT NULL,
    expires_at         timestamptz NOT NULL,
    withdrawn_at       timestamptz,
    views              bigint NOT NULL DEFAULT 0 CHECK (views >= 0),
    CHECK (expires_at > created_at)
);

-- ShareCodesOf: one owner's codes, newest first, straight from the index.
CREATE INDEX share_codes_owner ON share_codes (owner, created_at DESC, hash);

-- A code's terms are fixed when it is issued: only the view count may
-- grow and the code may be withdrawn, once. Not even the database owner
-- extends a code or revives a withdrawn one by a careless UPDATE.
-- +goose StatementBegin
CREATE FUNCTION degreegate_share_code_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.hash <> OLD.hash
        OR NEW.certificate_number <> OLD.certificate_number
        OR NEW.owner <> OLD.owner
        OR NEW.level <> OLD.level
        OR NEW.created_at <> OLD.created_at
        OR NEW.expires_at <> OLD.expires_at THEN
        RAISE EXCEPTION 'a share code may change only its views and withdrawn_at'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF NEW.views < OLD.views THEN
        RAISE EXCEPTION 'share code views may only grow'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF OLD.withdrawn_at IS NOT NULL AND NEW.withdrawn_at IS DISTINCT FROM OLD.withdrawn_at THEN
        RAISE EXCEPTION 'a share code withdrawal is final'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER share_codes_guard
    BEFORE UPDATE ON share_codes
    FOR EACH ROW EXECUTE FUNCTION degreegate_share_code_guard();

-- Codes are no filed data; going back drops them (they stop working).
-- +goose Down
DROP TABLE share_codes;
DROP FUNCTION degreegate_share_code_guard();
