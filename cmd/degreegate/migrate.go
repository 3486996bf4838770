package main

import (
	"context"
	"fmt"

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
	if err := postgres.Migrate(ctx, cfg.DatabaseURL); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	fmt.Fprintln(e.stdout, "database schema is up to date")
	return nil
}
