package main

import (
	"context"
	"fmt"

	"github.com/degreegate/degreegate/registry/postgres"
)

func runMigrate(ctx context.Context, args []string, e env) error {
	fs := newFlags("migrate", e)
	var db dbConfig
	db.register(fs, e, false)
	if help, err := parse(fs, args); help || err != nil {
		return err
	}
	if err := db.requireDatabase(); err != nil {
		return err
	}
	if err := postgres.Migrate(ctx, db.databaseURL); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	fmt.Fprintln(e.stdout, "database schema is up to date")
	return nil
}
