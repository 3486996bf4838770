package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/degreegate/degreegate/registry"
	"github.com/degreegate/degreegate/registry/postgres"
	"github.com/degreegate/degreegate/translog"
)

func runAudit(ctx context.Context, args []string, e env) error {
	if len(args) == 0 || args[0] != "verify" {
		return usageError{"usage: degreegate audit verify [--checkpoint FILE|DIR] [--log-key VKEY_FILE]"}
	}
	fs := newFlags("audit verify", e)
	conf := newConfig(fs, "audit", e.getenv)
	checkpoint := fs.String("checkpoint", "", "a signed checkpoint of the log kept outside the database: a file (one checkpoint or a witness's history) or a witness's or the gateway's checkpoints folder; checked with the keys folder's leaf key")
	vkeyPath := fs.String("log-key", "", "the log's verifier key (default: the keys folder's "+registry.LogVerifierFile+")")
	if help, err := parse(fs, args[1:]); help || err != nil {
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
	if *checkpoint != "" || cfg.KeysDir != "" || cfg.LogKey != "" {
		if key, err = registry.LoadLogKey(cfg.KeysDir, cfg.keyEnv); err != nil {
			return fmt.Errorf("audit verify: %w", err)
		}
	}
	if *checkpoint != "" {
		if *vkeyPath == "" {
			if cfg.KeysDir == "" {
				return usageError{"audit verify: --checkpoint needs the log's verifier key: --log-key FILE or the keys folder"}
			}
			*vkeyPath = filepath.Join(cfg.KeysDir, registry.LogVerifierFile)
		}
		v, _, err := registry.LoadLogVerifier(*vkeyPath)
		if err != nil {
			return fmt.Errorf("audit verify: %w", err)
		}
		if cps, err = translog.ReadCheckpoints(*checkpoint, v); err != nil {
			return fmt.Errorf("audit verify: %w", err)
		}
	}
	store, err := postgres.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer store.Close()
	n, err := registry.VerifyTrail(ctx, store, store, key, cps)
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
