-- Searching the audit trail (SearchAudit): officials filter by time,
-- actor (organisation), purpose and record; a holder reads the entries
-- of their own few certificates. Every search is a keyset page in seq
-- order ("seq > cursor ORDER BY seq LIMIT n"), so the btree indexes end
-- in seq: one record's or one actor's entries come out in order.
--
-- Plain CREATE INDEX inside the migration's transaction: it holds back
-- appends to the trail while it builds (seconds at millions of entries)
-- but can never leave a half-built index behind.

-- +goose Up

-- A holder's access log: the entries of a few record_refs.
CREATE INDEX audit_entries_record_ref ON audit_entries (record_ref, seq);

-- One actor, or every actor under a prefix such as "org:": "C" collation
-- so that a prefix is the bytewise range prefix <= actor < bound whatever
-- the database's locale (prefixBound in auditquery.go).
CREATE INDEX audit_entries_actor ON audit_entries ((actor COLLATE "C"), seq);

-- No index on purpose: purposes are few, so a common one is found by
-- walking seq order and a rare one is searched with a time range or an
-- org. Each btree here costs the trail ~12 % of its append rate, paid by
-- every verification; a search for a purpose nobody used, alone, scans
-- (about 0.2 s at 2M entries).

-- Time ranges. An index on "at" alone does not serve a page in seq
-- order: PostgreSQL must sort the whole range, or walk seq order from
-- the cursor filtering on "at", unaware that everything before the range
-- is older. With a BRIN index on "at" it chose the walk, and one day's
-- page took 90-175 ms at 2M entries. Instead this table maps each UTC hour
-- to the least and greatest seq of the entries stamped within it, so
-- SearchAudit turns [From, To) into an exact seq range first and then
-- reads only that range. Entries are stamped roughly in seq order, so
-- an hour's range is short; an entry stamped long after it was appended
-- only widens its hour, never hides anything.
CREATE TABLE audit_hours (
    hour    timestamp PRIMARY KEY, -- UTC, whole hours
    min_seq bigint NOT NULL,
    max_seq bigint NOT NULL CHECK (max_seq >= min_seq)
);

-- Kept by the inserts themselves, once per statement (AppendAudit
-- inserts a batch with one statement), inside the appending transaction.
-- +goose StatementBegin
CREATE FUNCTION degreegate_audit_hours() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    -- Qualified by the trigger's own schema, never the session's
    -- search_path, like degreegate_audit_head_forward.
    EXECUTE format($q$
        INSERT INTO %I.audit_hours AS h (hour, min_seq, max_seq)
        SELECT date_trunc('hour', at AT TIME ZONE 'UTC'), min(seq), max(seq)
        FROM new_entries GROUP BY 1
        ON CONFLICT (hour) DO UPDATE
        SET min_seq = least(h.min_seq, excluded.min_seq),
            max_seq = greatest(h.max_seq, excluded.max_seq)$q$, TG_TABLE_SCHEMA);
    RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER audit_entries_hours
    AFTER INSERT ON audit_entries
    REFERENCING NEW TABLE AS new_entries
    FOR EACH STATEMENT EXECUTE FUNCTION degreegate_audit_hours();

-- A narrowed hour would hide entries from time searches, so an hour may
-- only widen and never goes away.
-- +goose StatementBegin
CREATE FUNCTION degreegate_audit_hours_widen() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.hour <> OLD.hour OR NEW.min_seq > OLD.min_seq OR NEW.max_seq < OLD.max_seq THEN
        RAISE EXCEPTION 'an audit hour may only widen'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER audit_hours_widen
    BEFORE UPDATE ON audit_hours
    FOR EACH ROW EXECUTE FUNCTION degreegate_audit_hours_widen();

CREATE TRIGGER audit_hours_keep
    BEFORE DELETE OR TRUNCATE ON audit_hours
    FOR EACH STATEMENT EXECUTE FUNCTION degreegate_append_only();

-- The trail so far. CREATE TRIGGER above locked audit_entries against
-- inserts until this migration commits, so nothing slips in between.
INSERT INTO audit_hours (hour, min_seq, max_seq)
SELECT date_trunc('hour', at AT TIME ZONE 'UTC'), min(seq), max(seq)
FROM audit_entries GROUP BY 1;

-- +goose Down
DROP TRIGGER audit_entries_hours ON audit_entries;
DROP FUNCTION degreegate_audit_hours();
DROP TABLE audit_hours;
DROP FUNCTION degreegate_audit_hours_widen();
DROP INDEX audit_entries_actor;
DROP INDEX audit_entries_record_ref;
