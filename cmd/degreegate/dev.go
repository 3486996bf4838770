package main

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"
	"time"

	"github.com/degreegate/degreegate/registry"
	"github.com/degreegate/degreegate/registry/inmem"
	"github.com/degreegate/degreegate/registry/synth"
)

// devAgencyPurpose is the purpose the default policy accepts for the dev
// agency token; samples.json names it so scripts need not guess.
const devAgencyPurpose = "employment_background_check"

func runDev(ctx context.Context, args []string, e env) error {
	fs := newFlags("dev", e)
	conf := newConfig(fs, "dev", e.getenv)
	n := fs.Int("records", 20000, "synthetic records to load")
	seed := fs.Int64("seed", 1, "seed for the synthetic records: same seed and count, same records")
	stateDir := fs.String("state-dir", "", "write samples.json, the dev issuer's keys and demo tokens here")
	unlimited := fs.Bool("unlimited", false, "turn public rate limits off (load tests on a developer machine only)")
	if help, err := parse(fs, args); help || err != nil {
		return err
	}
	cfg, err := conf.load()
	if err != nil {
		return fmt.Errorf("dev: %w", err)
	}
	if *n < 0 {
		return usageError{"dev: --records must be ≥ 0"}
	}

	start := time.Now()
	keys, err := registry.NewRandomKeyring()
	if err != nil {
		return err
	}
	store := inmem.New()
	// The log's leaf key files the synthetic records too: every version
	// is a leaf from the first.
	leaf := registry.NewRandomLogKey()
	// Loading grows the heap to its final size at once: a tighter GC
	// target while it does keeps the peak down (bench-registry.sh, 1M
	// records: 1953 MiB peak at the default, 1636 MiB so, 1.2 s slower),
	// unless the caller chose GOGC.
	gcPercent := -2 // no change
	if e.getenv("GOGC") == "" {
		gcPercent = debug.SetGCPercent(50)
	}
	samples, err := loadSynthetic(ctx, store, keys, leaf, *n, *seed)
	if gcPercent != -2 {
		debug.SetGCPercent(gcPercent)
	}
	if err != nil {
		return err
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fmt.Fprintf(e.stdout, "degreegate dev: %d synthetic records (seed %d) in memory, ready in %s (heap %d MiB)\n",
		*n, *seed, time.Since(start).Round(time.Millisecond), ms.HeapAlloc>>20)

	if *stateDir != "" {
		fmt.Fprintf(e.stdout, "writing samples.json, dev-issuer.jwk, jwks.json and tokens.json to %s\n", *stateDir)
	}
	gw := devGateway{cfg: cfg, stateDir: *stateDir, unlimited: *unlimited, samples: samples, leaf: leaf}
	return gw.run(ctx, store, keys, e)
}

// loadSynthetic fills store with n generated records, validated and
// sealed as an import would, and returns a few of them as samples: the
// first five and the first revoked one.
func loadSynthetic(ctx context.Context, store registry.Store, keys *registry.Keyring, leaf *registry.LogKey, n int, seed int64) ([]registry.Record, error) {
	const batchSize = 5000
	today := registry.DateOf(time.Now())
	change := registry.Change{Actor: "dev:synthetic", Reason: fmt.Sprintf("synthetic records, seed %d", seed), At: time.Now()}
	var (
		samples []registry.Record
		revoked bool
		batch   = make([]registry.Sealed, 0, batchSize)
	)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		if _, err := registry.Insert(ctx, store, leaf, batch, change); err != nil {
			return fmt.Errorf("dev: load: %w", err)
		}
		batch = batch[:0]
		return nil
	}
	err := synth.New(seed).Generate(ctx, n, 0, func(i int, r registry.Record) error {
		registry.Normalize(&r)
		if err := registry.Validate(&r, today).Err(); err != nil {
			return fmt.Errorf("synthetic record %d: %w", i, err) // a generator bug
		}
		if len(samples) < 5 || (!revoked && r.Status == registry.StatusRevoked) {
			revoked = revoked || r.Status == registry.StatusRevoked
			samples = append(samples, r)
		}
		s, err := keys.Seal(r)
		if err != nil {
			return err
		}
		batch = append(batch, s)
		if len(batch) == batchSize {
			return flush()
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return samples, flush()
}
