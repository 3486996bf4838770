-- +goose Up

-- The seq range of the entries of each purpose, kept like audit_hours by
-- the inserts themselves. There is no index on purpose (each btree costs
-- the trail about 12 % of its append rate, see 00004), so a search by a
-- purpose alone scanned the whole trail: 1.58 s at 10M entries for a
-- purpose nobody used. With this table a purpose nobody used is answered
-- without reading the trail, and one used only for a while is searched
-- within the stretch of seq where it was used. A purpose holds one row,
-- and purposes are few.
CREATE TABLE audit_purposes (
    purpose text PRIMARY KEY,
    min_seq bigint NOT NULL,
    max_seq bigint NOT NULL CHECK (max_seq >= min_seq)
);

-- +goose StatementBegin
CREATE FUNCTION degreegate_audit_purposes() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format($q$
        INSERT INTO %I.audit_purposes AS p (purpose, min_seq, max_seq)
        SELECT purpose, min(seq), max(seq)
        FROM new_entries GROUP BY 1
        ON CONFLICT (purpose) DO UPDATE
        SET min_seq = least(p.min_seq, excluded.min_seq),
            max_seq = greatest(p.max_seq, excluded.max_seq)$q$, TG_TABLE_SCHEMA);
    RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER audit_entries_purposes
    AFTER INSERT ON audit_entries
    REFERENCING NEW TABLE AS new_entries
    FOR EACH STATEMENT EXECUTE FUNCTION degreegate_audit_purposes();

-- A narrowed range would hide entries from searches, so a purpose's
-- range may only widen and never goes away.
-- +goose StatementBegin
CREATE FUNCTION degreegate_audit_purposes_widen() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.purpose <> OLD.purpose OR NEW.min_seq > OLD.min_seq OR NEW.max_seq < OLD.max_seq THEN
        RAISE EXCEPTION 'an audit purpose''s range may only widen'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER audit_purposes_widen
    BEFORE UPDATE ON audit_purposes
    FOR EACH ROW EXECUTE FUNCTION degreegate_audit_purposes_widen();

CREATE TRIGGER audit_purposes_keep
    BEFORE DELETE OR TRUNCATE ON audit_purposes
    FOR EACH STATEMENT EXECUTE FUNCTION degreegate_append_only();

-- The trail so far: CREATE TRIGGER above locked audit_entries against
-- inserts until this migration commits.
INSERT INTO audit_purposes (purpose, min_seq, max_seq)
SELECT purpose, min(seq), max(seq) FROM audit_entries GROUP BY 1;

-- +goose Down
DROP TRIGGER audit_entries_purposes ON audit_entries;
DROP FUNCTION degreegate_audit_purposes();
DROP TABLE audit_purposes;
DROP FUNCTION degreegate_audit_purposes_widen();
