package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/degreegate/degreegate/registry"
)

// LogVersions files an entry, made by file, for up to max of the
// versions filed before versions were leaves of the log (migration
// 00009 lists them), takes them off the list in the same transaction,
// and returns how many the list still holds.
func (s *Store) LogVersions(ctx context.Context, max int, file func(*registry.Version) registry.AuditEntry) (int64, error) {
	err := s.fileInTx(ctx, func(tx pgx.Tx) ([]registry.AuditEntry, error) {
		rows, err := tx.Query(ctx, `WITH taken AS (
				DELETE FROM unlogged_versions WHERE (certificate_number, version) IN (
					SELECT certificate_number, version FROM unlogged_versions
					ORDER BY certificate_number, version LIMIT $1)
				RETURNING certificate_number, version)
			SELECT `+versionCols+` FROM record_versions v JOIN taken USING (certificate_number, version)
			ORDER BY v.certificate_number, v.version`, max)
		if err != nil {
			return nil, fmt.Errorf("read unlogged versions: %w", err)
		}
		vs, err := pgx.CollectRows(rows, scanVersion)
		if err != nil {
			return nil, fmt.Errorf("read unlogged versions: %w", err)
		}
		entries := make([]registry.AuditEntry, len(vs))
		for i := range vs {
			entries[i] = file(&vs[i])
		}
		return entries, nil
	})
	if err != nil {
		return 0, fmt.Errorf("log versions: %w", err)
	}
	return s.UnloggedVersions(ctx)
}

// UnloggedVersions counts the versions filed before versions were leaves
// of the log that no entry files yet.
func (s *Store) UnloggedVersions(ctx context.Context) (int64, error) {
	var n int64
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM unlogged_versions`).Scan(&n); err != nil {
		return 0, readErr("count unlogged versions", err)
	}
	return n, nil
}
