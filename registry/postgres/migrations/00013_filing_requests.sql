-- +goose Up

-- Requests on filed records (Art. 18, 19): a unit asks to change a
-- record or reports its revocation; the province decides, and the
-- national office consents to changes of key fields. The proposed record
-- is sealed as record_versions keeps it, and becomes the record's next
-- version in the same transaction as the decision that files it.
CREATE TABLE filing_requests (
    id                 text PRIMARY KEY,
    kind               text NOT NULL CHECK (kind IN ('change', 'revocation')),
    certificate_number text COLLATE "C" NOT NULL,
    unit_code          text NOT NULL,
    province           text NOT NULL,
    base_version       integer NOT NULL CHECK (base_version >= 1),
    key_field          boolean NOT NULL,
    -- The names of the fields the request changes (not their values).
    changed            text[] NOT NULL,
    requested_by       text NOT NULL,
    requested_at       timestamptz NOT NULL,
    reason             text NOT NULL,
    evidence_sha256    bytea NOT NULL CHECK (length(evidence_sha256) = 32),
    evidence           bytea NOT NULL CHECK (length(evidence) < 21 * 1024 * 1024),
    state              text NOT NULL CHECK (state IN ('change_requested', 'awaiting_consent', 'revocation_reported', 'filed', 'revoked')),
    since              timestamptz NOT NULL,
    outcome            text NOT NULL DEFAULT '',
    decided_by         text NOT NULL DEFAULT '',
    decided_at         timestamptz,
    decision           text NOT NULL DEFAULT '',
    person_index       bytea NOT NULL,
    key_id             text NOT NULL,
    secret             bytea NOT NULL,
    digest             bytea NOT NULL,
    body               bytea NOT NULL
);

-- One request at a time waits on a record.
CREATE UNIQUE INDEX filing_requests_pending ON filing_requests (certificate_number)
    WHERE outcome = '';

CREATE INDEX filing_requests_province_queue ON filing_requests (province, state, since, id);
CREATE INDEX filing_requests_unit_queue ON filing_requests (unit_code, state, since, id);

CREATE TRIGGER filing_requests_keep
    BEFORE DELETE OR TRUNCATE ON filing_requests
    FOR EACH STATEMENT EXECUTE FUNCTION degreegate_append_only();

-- A request stays what was asked: only its state and decision move.
-- +goose StatementBegin
CREATE FUNCTION degreegate_filing_request_fixed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF (NEW.id, NEW.kind, NEW.certificate_number, NEW.unit_code, NEW.province, NEW.base_version, NEW.key_field,
        NEW.requested_by, NEW.requested_at, NEW.reason, NEW.evidence_sha256, NEW.digest) IS DISTINCT FROM
       (OLD.id, OLD.kind, OLD.certificate_number, OLD.unit_code, OLD.province, OLD.base_version, OLD.key_field,
        OLD.requested_by, OLD.requested_at, OLD.reason, OLD.evidence_sha256, OLD.digest)
       OR OLD.outcome <> '' THEN
        RAISE EXCEPTION 'a filing request changes only its state and decision, once'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER filing_requests_fixed BEFORE UPDATE ON filing_requests
    FOR EACH ROW EXECUTE FUNCTION degreegate_filing_request_fixed();
