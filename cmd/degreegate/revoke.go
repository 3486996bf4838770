package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/degreegate/degreegate/gateway/recordcache"
	"github.com/degreegate/degreegate/gateway/redisstate"
	"github.com/degreegate/degreegate/registry"
	"github.com/degreegate/degreegate/registry/postgres"
)

// runRevoke records a revocation (Art. 19) in the registry and then
// broadcasts it, so that every serve replica drops its cached copy within
// a second. Until the filing workflow brings a signed, reviewed revocation
// route, this is the operator's way to revoke.
//
//	degreegate revoke CERT --resolution R --reason X --on YYYY-MM-DD [--actor A]
func runRevoke(ctx context.Context, args []string, e env) error {
	const usage = "usage: degreegate revoke CERTIFICATE_NUMBER --resolution R --reason X --on YYYY-MM-DD [--actor A] [--amend]"
	fs := newFlags("revoke", e)
	conf := newConfig(fs, "revoke", e.getenv)
	resolution := fs.String("resolution", "", "number of the resolution that revokes the degree")
	reason := fs.String("reason", "", "why the degree is revoked")
	on := fs.String("on", "", "date of the revocation, YYYY-MM-DD")
	actor := fs.String("actor", "operator", "who records the revocation, in the record's history and the audit trail")
	amend := fs.Bool("amend", false, "the degree is already revoked: record these revocation details as a new version")
	// The number may come before or after the flags.
	var cert string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cert, args = args[0], args[1:]
	}
	if help, err := parse(fs, args); help || err != nil {
		return err
	}
	if cert == "" && fs.NArg() > 0 {
		cert = fs.Arg(0)
	} else if fs.NArg() > 0 {
		return usageError{usage}
	}
	cert = strings.ToUpper(strings.TrimSpace(cert))
	date, dateErr := registry.ParseDate(*on)
	switch {
	case cert == "", *resolution == "", *reason == "", *on == "":
		return usageError{usage}
	case dateErr != nil:
		return usageError{"revoke: --on: want a date YYYY-MM-DD"}
	}
	cfg, err := conf.load()
	if err != nil {
		return err
	}
	if err := cfg.requireDatabase(); err != nil {
		return err
	}
	keys, err := registry.LoadKeyring(cfg.KeysDir, cfg.keyEnv)
	if err != nil {
		return fmt.Errorf("revoke: %w", err)
	}
	logKey, err := registry.LoadLogKey(cfg.KeysDir, cfg.keyEnv)
	if err != nil {
		return fmt.Errorf("revoke: %w", err)
	}
	store, err := postgres.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return fmt.Errorf("revoke: %w", err)
	}
	defer store.Close()

	reg := registry.New(store, keys, logKey, time.Now)
	revoke := reg.Revoke
	if *amend {
		revoke = reg.AmendRevocation
	}
	entry, err := revoke(ctx, cert,
		registry.Revocation{On: date, Resolution: *resolution, Reason: *reason},
		registry.Change{Actor: *actor, Reason: "revocation: " + *resolution})
	var already *registry.AlreadyRevokedError
	switch {
	case errors.Is(err, registry.ErrNotFound):
		return fmt.Errorf("revoke: no record has certificate number %s", cert)
	case errors.As(err, &already):
		return fmt.Errorf("revoke: %s is %v; nothing changed (--amend records these details as a new version)", cert, already)
	case errors.Is(err, registry.ErrNotRevoked):
		return fmt.Errorf("revoke --amend: %s is not revoked; nothing changed", cert)
	case errors.Is(err, registry.ErrNoChange):
		fmt.Fprintf(e.stdout, "%s was already revoked with that resolution; nothing changed\n", cert)
	case err != nil:
		return fmt.Errorf("revoke %s: %w", cert, err)
	default:
		fmt.Fprintf(e.stdout, "revoked %s (version %d)\n", cert, entry.Version)
	}

	// Broadcast even when nothing changed: it costs nothing, and it
	// repairs a broadcast that failed on an earlier attempt.
	if cfg.RedisURL == "" {
		fmt.Fprintf(e.stderr, "no REDIS_URL: not broadcast; serve replicas show it once their cache entry expires (--cache-ttl, default %s)\n", recordcache.DefaultTTL)
		return nil
	}
	rdb, err := redisstate.NewClient(cfg.RedisURL)
	if err != nil {
		return fmt.Errorf("revoke: %w", err)
	}
	defer rdb.Close()
	revs := redisstate.NewRevocations(rdb, cfg.RedisPrefix, nil)
	var pubErr error
	for attempt := 0; attempt < 3; attempt++ {
		pctx, cancel := context.WithTimeout(ctx, time.Second)
		pubErr = revs.Publish(pctx, cert)
		cancel()
		if pubErr == nil {
			fmt.Fprintln(e.stdout, "broadcast to the serve replicas")
			return nil
		}
		select {
		case <-ctx.Done():
			// Interrupted: what is recorded stays, and a rerun repairs
			// the broadcast, as below.
			return fmt.Errorf("revoke: recorded in the registry, but interrupted before the broadcast succeeded (run revoke again to retry): %w", pubErr)
		case <-time.After(200 * time.Millisecond):
		}
	}
	return fmt.Errorf("revoke: recorded in the registry, but the broadcast failed (replicas show it once their cache entry expires; run revoke again to retry): %w", pubErr)
}
