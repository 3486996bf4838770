-- Research datasets (Art. 23–24): a request for a de-identified,
-- expiring dataset for a commissioned contractor, the decision of a
-- second official, and what the build produced. The files live outside
-- the database; the manifest stays here after they are purged, and so
-- does the pseudonym key, so a leaked file can still be traced.

-- +goose Up
CREATE TABLE datasets (
    id             text COLLATE "C" PRIMARY KEY CHECK (id ~ '^ds_[a-z2-7]{26}$'),
    contractor     text COLLATE "C" NOT NULL CHECK (contractor <> ''),
    purpose        text NOT NULL CHECK (purpose <> ''),
    legal_basis    text NOT NULL,
    policy_version text NOT NULL CHECK (policy_version <> ''),
    -- The request's fields, filters and privacy parameters as JSON text
    -- (not jsonb: it comes back byte for byte).
    spec           text NOT NULL,
    requested_by   text NOT NULL CHECK (requested_by <> ''),
    requested_at   timestamptz NOT NULL,
    -- Keys the dataset's pseudonyms; never leaves the server.
    key            bytea NOT NULL CHECK (length(key) = 32),
    status         text NOT NULL CHECK (status IN
                       ('requested', 'rejected', 'approved', 'building', 'ready', 'failed', 'purged')),
    decided_by     text NOT NULL DEFAULT '',
    decided_at     timestamptz,
    decision_note  text NOT NULL DEFAULT '',
    built_at       timestamptz,
    expires_at     timestamptz,
    manifest       bytea,
    failure        text NOT NULL DEFAULT '',
    purged_at      timestamptz,
    -- Nobody decides their own request (Art. 21, 23).
    CHECK (decided_by = '' OR decided_by <> requested_by),
    CHECK (status <> 'ready' OR (manifest IS NOT NULL AND expires_at > built_at))
);

-- Datasets(): newest first, for one contractor or for all.
CREATE INDEX datasets_contractor ON datasets (contractor, requested_at DESC, id);
CREATE INDEX datasets_requested ON datasets (requested_at DESC, id);

-- A request never changes once made, whoever runs the UPDATE; only its
-- state moves on.
-- +goose StatementBegin
CREATE FUNCTION degreegate_dataset_guard() RETURNS trigger
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

CREATE TRIGGER datasets_guard
    BEFORE UPDATE ON datasets
    FOR EACH ROW EXECUTE FUNCTION degreegate_dataset_guard();

-- +goose Down
DROP TABLE datasets;
DROP FUNCTION degreegate_dataset_guard();
