-- Record versions (Art. 16): a filed record is never overwritten or
-- deleted; every change is a new row (certificate_number, version+1).
--
-- No column holds a clear ID number, phone or e-mail: the store receives
-- sealed records only, whose direct identifiers are encrypted in "secret"
-- under a key kept outside the database, and whose person is found
-- through the keyed blind index "person_index".
--
-- Objects are created unqualified, in the first schema of search_path,
-- so that a deployment (or a test) chooses its schema by connection.
--
-- There is deliberately no Down section: rolling this back would destroy
-- filed records. Schema changes go forward, as new migrations.

-- +goose Up
CREATE TABLE record_versions (
    -- "C" collation: certificate numbers sort bytewise, as in the
    -- in-memory store, whatever the database's locale; it also makes the
    -- primary-key index cheaper to maintain.
    certificate_number text COLLATE "C" NOT NULL,
    version            integer NOT NULL CHECK (version >= 1),
    -- Queryable copies of record fields (Scan filters, statistics,
    -- future partitioning by conferral year). The body is the truth.
    kind               text NOT NULL,
    unit_code          text NOT NULL,
    degree_level       text NOT NULL,
    conferral_year     integer NOT NULL,
    status             text NOT NULL,
    person_index       bytea NOT NULL,
    -- Sealing: data-key id, nonce||ciphertext of the direct identifiers,
    -- keyed digest of the clear record.
    key_id             text NOT NULL,
    secret             bytea NOT NULL,
    digest             bytea NOT NULL,
    -- The record without its direct identifiers, in the compact encoding
    -- of registry/postgres/body.go.
    body               bytea NOT NULL,
    -- Who changed it, why and when (Art. 15).
    actor              text NOT NULL,
    reason             text NOT NULL,
    changed_at         timestamptz NOT NULL,
    PRIMARY KEY (certificate_number, version)
);

-- ByPerson: candidates by blind index, then kept only where the row is
-- the newest version (checked through the primary key).
CREATE INDEX record_versions_person_index ON record_versions (person_index);

-- +goose StatementBegin
CREATE FUNCTION degreegate_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% on %.% is forbidden: the table is append-only (Art. 15, Art. 16)',
        TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END
$$;
-- +goose StatementEnd

-- Statement-level, so that even an UPDATE or DELETE matching no row is
-- refused, and TRUNCATE (which fires no row triggers) is covered too.
CREATE TRIGGER record_versions_append_only
    BEFORE UPDATE OR DELETE OR TRUNCATE ON record_versions
    FOR EACH STATEMENT EXECUTE FUNCTION degreegate_append_only();
