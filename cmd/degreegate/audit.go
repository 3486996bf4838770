package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/degreegate/degreegate/registry"
	"github.com/degreegate/degreegate/registry/archive"
	"github.com/degreegate/degreegate/registry/postgres"
	"github.com/degreegate/degreegate/translog"
)

const auditUsage = "usage: degreegate audit verify [--checkpoint FILE|DIR] [--archives DIR] [--log-key VKEY_FILE]\n" +
	"       degreegate audit archive --out DIR [--checkpoints-dir DIR] [--log-key VKEY_FILE]"

func runAudit(ctx context.Context, args []string, e env) error {
	switch {
	case len(args) > 0 && args[0] == "verify":
		return runAuditVerify(ctx, args[1:], e)
	case len(args) > 0 && args[0] == "archive":
		return runAuditArchive(ctx, args[1:], e)
	}
	return usageError{auditUsage}
}

func runAuditVerify(ctx context.Context, args []string, e env) error {
	fs := newFlags("audit verify", e)
	conf := newConfig(fs, "audit", e.getenv)
	archives := fs.String("archives", "", "the folder of the trail's archives (audit archive --out): their entries are checked before the database's")
	checkpoint := fs.String("checkpoint", "", "a signed checkpoint of the log kept outside the database: a file (one checkpoint or a witness's history) or a witness's or the gateway's checkpoints folder; checked with the keys folder's leaf key")
	vkeyPath := fs.String("log-key", "", "the log's verifier key (default: the keys folder's "+registry.LogVerifierFile+")")
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
	var key *registry.LogKey
	var cps []translog.Checkpoint
	if *checkpoint != "" || *archives != "" || cfg.KeysDir != "" || cfg.LogKey != "" {
		if key, err = registry.LoadLogKey(cfg.KeysDir, cfg.keyEnv); err != nil {
			return fmt.Errorf("audit verify: %w", err)
		}
	}
	var v *translog.Verifier
	if *checkpoint != "" || *archives != "" {
		if v, err = logVerifier(cfg, *vkeyPath, "audit verify: --checkpoint and --archives"); err != nil {
			return err
		}
	}
	if *checkpoint != "" {
		if cps, err = translog.ReadCheckpoints(*checkpoint, v); err != nil {
			return fmt.Errorf("audit verify: %w", err)
		}
	}
	store, err := postgres.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer store.Close()
	archivedUpTo, err := store.ArchivedUpTo(ctx)
	if err != nil {
		return fmt.Errorf("audit verify: %w", err)
	}
	var trail registry.AuditLog = store
	if *archives == "" && archivedUpTo > 0 {
		return fmt.Errorf("audit verify: entries 1–%d of the trail are in archives: give their folder with --archives DIR", archivedUpTo)
	}
	if *archives != "" {
		as, err := archive.Load(*archives, v)
		if err != nil {
			fmt.Fprintf(e.stdout, "audit archives TAMPERED or incomplete: %v\n", err)
			return errReported
		}
		held := int64(0)
		if len(as) > 0 {
			held = as[len(as)-1].LastSeq
		}
		if held != archivedUpTo {
			fmt.Fprintf(e.stdout, "audit archives incomplete: the database moved entries 1–%d to archives, the folder holds entries 1–%d\n", archivedUpTo, held)
			return errReported
		}
		for _, a := range as {
			cps = append(cps, a.Checkpoints()...)
		}
		trail = archive.Trail{AuditLog: store, Archives: as}
	}
	n, err := registry.VerifyTrail(ctx, trail, store, key, cps)
	var chain *registry.ChainError
	if errors.As(err, &chain) {
		fmt.Fprintf(e.stdout, "audit trail TAMPERED: first bad entry %d: %s (%d entries before it verified)\n", chain.Seq, chain.Reason, n)
		return errReported
	}
	var version *registry.VersionError
	if errors.As(err, &version) {
		fmt.Fprintf(e.stdout, "record versions TAMPERED: %s (the trail's %d entries verified)\n", version, n)
		if version.Unfiled {
			fmt.Fprintln(e.stdout, "(a version filed before versions were leaves of the log is bound to it by degreegate migrate with the keys)")
		}
		return errReported
	}
	if err != nil {
		return fmt.Errorf("audit verify: %w", err)
	}
	switch {
	case key == nil:
		fmt.Fprintf(e.stdout, "audit trail verified: %d entries, hash chain intact, every record version is the one its entry filed (the log was not checked: it needs the keys folder)\n", n)
	case len(cps) == 0:
		fmt.Fprintf(e.stdout, "audit trail verified: %d entries, hash chain intact, every entry is its leaf of the log, every record version is the one its entry filed (no checkpoint kept outside the database was given: --checkpoint)\n", n)
	default:
		newest := cps[0]
		for _, c := range cps {
			if c.Size > newest.Size {
				newest = c
			}
		}
		fmt.Fprintf(e.stdout, "audit trail verified: %d entries, hash chain intact, every entry is its leaf of the log, every record version is the one its entry filed, and the trail makes the tree of each of %d checkpoints kept outside the database (the newest: %d entries)\n", n, len(cps), newest.Size)
	}
	return nil
}

// logVerifier loads the log's verifier key: --log-key, else the keys
// folder's.
func logVerifier(cfg *Config, path, what string) (*translog.Verifier, error) {
	if path == "" {
		if cfg.KeysDir == "" {
			return nil, usageError{what + " need the log's verifier key: --log-key FILE or the keys folder"}
		}
		path = filepath.Join(cfg.KeysDir, registry.LogVerifierFile)
	}
	v, _, err := registry.LoadLogVerifier(path)
	return v, err
}

// runAuditArchive moves the entries older than the policy's retention
// out of the database into an archive in --out, with the newest
// checkpoint the gateway kept and the proof that the archive's tree is
// its prefix.
func runAuditArchive(ctx context.Context, args []string, e env) error {
	fs := newFlags("audit archive", e)
	conf := newConfig(fs, "audit", e.getenv)
	out := fs.String("out", "", "folder of the archives (created if missing); keep it as long as the trail must be kept, and back it up")
	vkeyPath := fs.String("log-key", "", "the log's verifier key (default: the keys folder's "+registry.LogVerifierFile+")")
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
	if *out == "" || cfg.CheckpointsDir == "" {
		return usageError{"audit archive: --out DIR and the gateway's checkpoints folder (--checkpoints-dir or DEGREEGATE_CHECKPOINTS_DIR) are required"}
	}
	policy, err := loadPolicy(cfg.Policy)
	if err != nil {
		return fmt.Errorf("audit archive: %w", err)
	}
	v, err := logVerifier(cfg, *vkeyPath, "audit archive")
	if err != nil {
		return err
	}
	kept, err := translog.OpenWitness(cfg.CheckpointsDir, v)
	if err != nil {
		return fmt.Errorf("audit archive: %w", err)
	}
	cp, note, ok := kept.Latest()
	if !ok {
		return fmt.Errorf("audit archive: %s holds no checkpoint of the log yet", cfg.CheckpointsDir)
	}
	if err := os.MkdirAll(*out, 0o700); err != nil {
		return fmt.Errorf("audit archive: %w", err)
	}
	now := time.Now().UTC()
	start := now.AddDate(0, -policy.AuditRetentionMonths(), 0)
	cutoff := time.Date(start.Year(), start.Month(), 1, 0, 0, 0, 0, time.UTC)
	store, err := postgres.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer store.Close()
	first, last, err := store.ArchiveBounds(ctx, cutoff)
	if err != nil {
		return fmt.Errorf("audit archive: %w", err)
	}
	// Only what the checkpoint covers: the archive carries its proof.
	last = min(last, cp.Size)
	if last < first {
		fmt.Fprintf(e.stdout, "nothing to archive: no entry before %s (the policy keeps %d months) is past the newest checkpoint's reach or older than the head\n",
			cutoff.Format("2006-01-02"), policy.AuditRetentionMonths())
		return nil
	}
	m, sum, err := archive.Write(ctx, *out, store, first, last, cutoff, note, v)
	if err != nil {
		return fmt.Errorf("audit archive: %w", err)
	}
	if err := store.ArchiveAudit(ctx, first, last, sum); err != nil {
		return fmt.Errorf("audit archive: the archive is written (%s) but the entries were not removed: %w", m.Entries, err)
	}
	fmt.Fprintf(e.stdout, "archived audit entries %d–%d (dated before %s; the policy keeps %d months) to %s, with the checkpoint of %d entries that covers them, and removed them from the database\n",
		first, last, cutoff.Format("2006-01-02"), policy.AuditRetentionMonths(), filepath.Join(*out, m.Entries), cp.Size)
	return nil
}
