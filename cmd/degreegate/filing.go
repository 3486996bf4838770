package main

import (
	"context"
	"encoding/csv"
	"fmt"
	"time"

	"github.com/degreegate/degreegate/filing"
	"github.com/degreegate/degreegate/registry/postgres"
)

const filingUsage = "usage: degreegate filing overdue [--province CODE] [--unit CODE] [--format text|csv]"

// runFiling is the workflow from the command line, for the offices that
// run the database. Staff act through the API (/v1/filing), where their
// tokens say who they are; this verb reports.
func runFiling(ctx context.Context, args []string, e env) error {
	if len(args) > 0 && args[0] == "overdue" {
		return runFilingOverdue(ctx, args[1:], e)
	}
	return usageError{filingUsage}
}

// runFilingOverdue lists the records waiting past their deadline:
// submissions due 30 days after their resolution took effect, reviews
// and decisions 30 days after they were asked for (Art. 12, 13, 18).
// Certificate numbers, batches, units and states only: no personal data.
func runFilingOverdue(ctx context.Context, args []string, e env) error {
	fs := newFlags("filing overdue", e)
	conf := newConfig(fs, "filing", e.getenv)
	province := fs.String("province", "", "only this province's units (GB/T 2260 code, e.g. 11)")
	unit := fs.String("unit", "", "only this unit's records")
	format := fs.String("format", "text", "text or csv")
	if help, err := parse(fs, args); help || err != nil {
		return err
	}
	if *format != "text" && *format != "csv" {
		return usageError{"filing overdue: --format is text or csv"}
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
	now := time.Now()
	w := csv.NewWriter(e.stdout)
	if *format == "csv" {
		w.Write([]string{"certificate_number", "batch", "unit_code", "state", "since", "due", "days_overdue"})
	}
	n := 0
	err = filing.ListOverdue(ctx, store, filing.Query{Province: *province, Unit: *unit}, now, func(q filing.Queued) error {
		n++
		days := int(now.Sub(q.Due).Hours() / 24)
		if *format == "csv" {
			return w.Write([]string{q.CertificateNumber, q.BatchID, q.UnitCode, string(q.State),
				q.Since.Format(time.RFC3339), q.Due.Format(time.RFC3339), fmt.Sprint(days)})
		}
		_, err := fmt.Fprintf(e.stdout, "%s  %-20s unit %s  batch %s  due %s (%d days ago)\n", q.CertificateNumber, q.State,
			q.UnitCode, q.BatchID, q.Due.Format(time.DateOnly), days)
		return err
	})
	w.Flush()
	if err != nil {
		return fmt.Errorf("filing overdue: %w", err)
	}
	if err := w.Error(); err != nil {
		return err
	}
	if *format == "text" {
		fmt.Fprintf(e.stdout, "%d records overdue\n", n)
	}
	return nil
}
