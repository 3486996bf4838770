-- +goose Up

-- The filing workflow (Art. 11–19): batches a unit uploads under a
-- conferral resolution, and the records in the workflow, each in its
-- state (package filing). A record becomes a row of record_versions only
-- when it is filed, in the same transaction as its move to "filed" and
-- its filing entry.
--
-- Nothing here is ever deleted: withdrawn and deleted are states.

CREATE TABLE filing_batches (
    id                   text PRIMARY KEY,
    unit_code            text NOT NULL,
    province             text NOT NULL,
    collector            text NOT NULL,
    resolution_number    text NOT NULL,
    resolution_effective date NOT NULL,
    resolution_sha256    bytea NOT NULL CHECK (length(resolution_sha256) = 32),
    -- The scanned resolution (a PDF of at most 20 MiB, checked before it
    -- gets here), kept with its batch so both are backed up together.
    resolution_document  bytea NOT NULL,
    created_at           timestamptz NOT NULL,
    -- The late-submission application and the province's decision.
    late_state           text NOT NULL DEFAULT ''
        CHECK (late_state IN ('', 'pending', 'approved', 'refused')),
    late_reason          text NOT NULL DEFAULT '',
    late_applied_by      text NOT NULL DEFAULT '',
    late_applied_at      timestamptz,
    late_decided_by      text NOT NULL DEFAULT '',
    late_decided_at      timestamptz,
    late_decision        text NOT NULL DEFAULT '',
    CHECK (length(resolution_document) < 21 * 1024 * 1024)
);

CREATE TABLE filing_records (
    batch_id           text NOT NULL REFERENCES filing_batches (id),
    certificate_number text COLLATE "C" NOT NULL,
    -- Copies of the batch's, so that a queue is one index range.
    unit_code          text NOT NULL,
    province           text NOT NULL,
    state              text NOT NULL CHECK (state IN ('draft', 'checked', 'returned', 'withdrawn', 'submitted',
        'filed', 'change_requested', 'awaiting_consent', 'deletion_requested', 'deleted',
        'revocation_reported', 'revoked')),
    since              timestamptz NOT NULL,
    actor              text NOT NULL,
    reason             text NOT NULL,
    -- The record as submitted, sealed as record_versions keeps it: the
    -- direct identifiers are encrypted before they reach the database.
    person_index       bytea NOT NULL,
    key_id             text NOT NULL,
    secret             bytea NOT NULL,
    digest             bytea NOT NULL,
    body               bytea NOT NULL,
    PRIMARY KEY (batch_id, certificate_number)
);

-- A certificate number is in at most one batch that was not withdrawn:
-- this is what refuses a second submission of the same records.
CREATE UNIQUE INDEX filing_records_live ON filing_records (certificate_number)
    WHERE state <> 'withdrawn';

-- The review queues: a province's, and a unit's, oldest in their state
-- first, paged by (since, certificate_number).
CREATE INDEX filing_records_province_queue ON filing_records (province, state, since, certificate_number);
CREATE INDEX filing_records_unit_queue ON filing_records (unit_code, state, since, certificate_number);

-- Files sent in parts (a scanned resolution, a file of records): no
-- request body is larger than the gateway's limit, so the gateway never
-- holds more than that per request. A part is its own row, so appending
-- never rewrites what arrived before.
CREATE TABLE filing_uploads (
    id         text PRIMARY KEY,
    owner      text NOT NULL,
    kind       text NOT NULL CHECK (kind IN ('records', 'resolution')),
    format     text NOT NULL CHECK (format IN ('csv', 'jsonl', 'pdf')),
    size       bigint NOT NULL CHECK (size > 0),
    received   bigint NOT NULL DEFAULT 0 CHECK (received >= 0 AND received <= size),
    created_at timestamptz NOT NULL
);

CREATE TABLE filing_upload_parts (
    upload_id text NOT NULL REFERENCES filing_uploads (id) ON DELETE CASCADE,
    "offset"  bigint NOT NULL,
    bytes     bytea NOT NULL,
    PRIMARY KEY (upload_id, "offset")
);

CREATE TRIGGER filing_batches_keep
    BEFORE DELETE OR TRUNCATE ON filing_batches
    FOR EACH STATEMENT EXECUTE FUNCTION degreegate_append_only();
CREATE TRIGGER filing_records_keep
    BEFORE DELETE OR TRUNCATE ON filing_records
    FOR EACH STATEMENT EXECUTE FUNCTION degreegate_append_only();

-- What a batch is, and which record of which batch a row holds, never
-- change; only a batch's late application and a record's state (and,
-- while it is corrected, its content) do.
-- +goose StatementBegin
CREATE FUNCTION degreegate_filing_fixed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'filing_batches' THEN
        IF (NEW.id, NEW.unit_code, NEW.province, NEW.collector, NEW.resolution_number, NEW.resolution_effective,
            NEW.resolution_sha256, NEW.created_at) IS DISTINCT FROM
           (OLD.id, OLD.unit_code, OLD.province, OLD.collector, OLD.resolution_number, OLD.resolution_effective,
            OLD.resolution_sha256, OLD.created_at)
           OR NEW.resolution_document <> OLD.resolution_document THEN
            RAISE EXCEPTION 'a filing batch changes only its late application'
                USING ERRCODE = 'insufficient_privilege';
        END IF;
    ELSIF (NEW.batch_id, NEW.certificate_number, NEW.unit_code, NEW.province) IS DISTINCT FROM
          (OLD.batch_id, OLD.certificate_number, OLD.unit_code, OLD.province) THEN
        RAISE EXCEPTION 'a filing record stays the record of its batch'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER filing_batches_fixed BEFORE UPDATE ON filing_batches
    FOR EACH ROW EXECUTE FUNCTION degreegate_filing_fixed();
CREATE TRIGGER filing_records_fixed BEFORE UPDATE ON filing_records
    FOR EACH ROW EXECUTE FUNCTION degreegate_filing_fixed();
