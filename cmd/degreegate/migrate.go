package main

import (
	"context"
	"fmt"
	"time"

	"github.com/degreegate/degreegate/registry"
	"github.com/degreegate/degreegate/registry/postgres"
)

func runMigrate(ctx context.Context, args []string, e env) error {
	fs := newFlags("migrate", e)
	conf := newConfig(fs, "migrate", e.getenv)
	if help, err := parse(fs, args); help || err != nil {
		return err
	}
	cfg, err := conf.load()
	if err != nil {
		return err
	}
	if err := cfg.requireDatabase(); err != nil {
		return err
	}
	applied, err := postgres.Migrate(ctx, cfg.DatabaseURL)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	for _, name := range applied {
		fmt.Fprintln(e.stdout, "applied", name)
	}
	if len(applied) == 0 {
		fmt.Fprintln(e.stdout, "database schema is up to date: nothing to apply")
	} else {
		fmt.Fprintf(e.stdout, "database schema is up to date: %d migrations applied\n", len(applied))
	}
	return extendLog(ctx, cfg, e)
}

// logVersions files an entry for every record version filed before
// versions were leaves of the log (registry.ActionLogVersion), dated now
// and committed with the leaf key.
func logVersions(ctx context.Context, store *postgres.Store, key *registry.LogKey, e env) error {
	total := int64(0)
	for {
		var n int
		left, err := store.LogVersions(ctx, logBatch, func(v *registry.Version) registry.AuditEntry {
			n++
			f := key.FilingEntry(registry.ActionLogVersion, v)
			f.At = time.Now()
			key.Commit(&f)
			return f
		})
		if err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		total += int64(n)
		if left == 0 || n == 0 {
			break
		}
	}
	if total > 0 {
		fmt.Fprintf(e.stdout, "filed %d record versions written before the transparency log as leaves of it\n", total)
	}
	return nil
}

// logBatch is how many entries of a trail older than the log one
// transaction makes leaves.
const logBatch = 10_000

// extendLog makes the entries of a trail written before the log existed
// into leaves of the log, committing each with the leaf key, which the
// database never holds. Their hash chain is kept and still verifies.
func extendLog(ctx context.Context, cfg *Config, e env) error {
	store, err := postgres.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer store.Close()
	head, err := store.AuditHead(ctx)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	unlogged, err := store.UnloggedVersions(ctx)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if head.LogSize == head.Seq && unlogged == 0 {
		return nil
	}
	key, err := registry.LoadLogKey(cfg.KeysDir, cfg.keyEnv)
	if err != nil {
		return fmt.Errorf("migrate: the audit trail holds %d entries and the registry %d record versions written before the transparency log; making them leaves needs the log's leaf key: %w",
			head.Seq-head.LogSize, unlogged, err)
	}
	from := head.LogSize
	for head.LogSize < head.Seq {
		if head, err = store.ExtendLog(ctx, logBatch, key.Commit); err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
	}
	if head.LogSize > from {
		fmt.Fprintf(e.stdout, "made audit entries %d–%d leaves of the transparency log\n", from+1, head.LogSize)
	}
	return logVersions(ctx, store, key, e)
}
