-- A dataset's pseudonym key no longer rests in clear: the gateway seals
-- it with AES-256-GCM under a data key held outside the database, bound
-- to the dataset id (registry.Keyring.SealDatasetKey), and stores only
-- that, with the data key's id. A dump of this table is then not enough
-- to recompute a dataset's pseudonyms.
--
-- Rows requested before this migration keep their clear 32-byte key with
-- an empty key_id until the dataset service seals them (it needs the
-- keys, which SQL never sees): the guard lets a key change exactly once,
-- from clear to sealed.

-- +goose Up
ALTER TABLE datasets ADD COLUMN key_id text NOT NULL DEFAULT '';
ALTER TABLE datasets ALTER COLUMN key_id DROP DEFAULT;
ALTER TABLE datasets DROP CONSTRAINT datasets_key_check;
ALTER TABLE datasets ADD CONSTRAINT datasets_key_sealed CHECK (
    (key_id = '' AND length(key) = 32)      -- clear, from before this migration
    OR (key_id <> '' AND length(key) = 60)  -- nonce, sealed key, tag
);
COMMENT ON COLUMN datasets.key IS 'the pseudonym key sealed under data key key_id; in clear only while key_id is empty (before 00006)';

-- +goose StatementBegin
CREATE OR REPLACE FUNCTION degreegate_dataset_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.id <> OLD.id
        OR NEW.contractor <> OLD.contractor
        OR NEW.purpose <> OLD.purpose
        OR NEW.legal_basis <> OLD.legal_basis
        OR NEW.policy_version <> OLD.policy_version
        OR NEW.spec <> OLD.spec
        OR NEW.requested_by <> OLD.requested_by
        OR NEW.requested_at <> OLD.requested_at
        OR ((NEW.key <> OLD.key OR NEW.key_id <> OLD.key_id)
            AND NOT (OLD.key_id = '' AND NEW.key_id <> '')) THEN
        RAISE EXCEPTION 'a dataset request never changes; only its state does, and a clear key may be sealed once'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END
$$;
-- +goose StatementEnd

-- +goose Down
-- Sealed keys cannot be opened in SQL: going down fails on the restored
-- check while any row holds one, rather than losing keys.
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION degreegate_dataset_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.id <> OLD.id
        OR NEW.contractor <> OLD.contractor
        OR NEW.purpose <> OLD.purpose
        OR NEW.legal_basis <> OLD.legal_basis
        OR NEW.policy_version <> OLD.policy_version
        OR NEW.spec <> OLD.spec
        OR NEW.requested_by <> OLD.requested_by
        OR NEW.requested_at <> OLD.requested_at
        OR NEW.key <> OLD.key THEN
        RAISE EXCEPTION 'a dataset request never changes; only its state does'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END
$$;
-- +goose StatementEnd
ALTER TABLE datasets DROP CONSTRAINT datasets_key_sealed;
ALTER TABLE datasets ADD CONSTRAINT datasets_key_check CHECK (length(key) = 32);
ALTER TABLE datasets DROP COLUMN key_id;
