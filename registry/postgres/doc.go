// Package postgres is the PostgreSQL registry: versioned sealed records
// and the hash-chained audit trail, through a pgx pool, with schema
// migrations embedded and applied by goose.
//
// Layout (see migrations/):
//   - record_versions: one row per version of a certificate, never updated
//     or deleted (a statement trigger raises on UPDATE, DELETE and
//     TRUNCATE). It holds queryable columns, the sealing (key id,
//     encrypted identifiers, blind index, digest) and the record body
//     without its direct identifiers; no column can hold an ID number,
//     phone or e-mail in clear, and the store refuses a record that
//     carries one.
//   - audit_entries and audit_head: see Store.AppendAudit for how
//     appenders in several processes form one chain.
//
// The schema is the first one of the connection's search_path, so one
// database can hold several registries (and tests run in parallel, each
// in a schema of its own).
package postgres
