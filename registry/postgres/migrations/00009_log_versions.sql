-- Every filed record version is a leaf of the log (registry/versionlog.go):
-- a store files each version with its filing entry in one transaction.
-- Versions filed before this migration have no filing entry; they are
-- listed here until `degreegate migrate`, with the keys (which the
-- database never holds), files an entry for each (Store.LogVersions) and
-- takes it off the list. `serve` will not start while the list holds any.
--
-- No Down section: the log must outlive any schema rollback.

-- +goose Up
CREATE TABLE unlogged_versions (
    certificate_number text    NOT NULL,
    version            integer NOT NULL,
    PRIMARY KEY (certificate_number, version)
);

INSERT INTO unlogged_versions (certificate_number, version)
SELECT certificate_number, version FROM record_versions;
