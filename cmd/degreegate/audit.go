package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/degreegate/degreegate/registry"
	"github.com/degreegate/degreegate/registry/postgres"
)

func runAudit(ctx context.Context, args []string, e env) error {
	if len(args) == 0 || args[0] != "verify" {
		return usageError{"usage: degreegate audit verify [--database-url URL]"}
	}
	fs := newFlags("audit verify", e)
	conf := newConfig(fs, "audit", e.getenv)
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
	store, err := postgres.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer store.Close()
	n, err := registry.VerifyChain(ctx, store)
	var chain *registry.ChainError
	if errors.As(err, &chain) {
		fmt.Fprintf(e.stdout, "audit trail TAMPERED: first bad entry %d: %s (%d entries before it verified)\n", chain.Seq, chain.Reason, n)
		return errReported
	}
	if err != nil {
		return fmt.Errorf("audit verify: %w", err)
	}
	fmt.Fprintf(e.stdout, "audit trail verified: %d entries, hash chain intact\n", n)
	return nil
}
