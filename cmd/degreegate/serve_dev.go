package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/degreegate/degreegate/gateway"
	"github.com/degreegate/degreegate/gateway/ratelimit"
	"github.com/degreegate/degreegate/gateway/token"
	"github.com/degreegate/degreegate/policies"
	"github.com/degreegate/degreegate/registry"
	"github.com/degreegate/degreegate/registry/inmem"
)

// devGateway is what dev runs: the gateway over the embedded store, with
// keys made fresh at every start.
type devGateway struct {
	addr      string
	stateDir  string
	unlimited bool
	debugAddr string // pprof listener, loopback only; "" for none
	policy    string // path; "" for the embedded default
	samples   []registry.Record
}

func (d devGateway) run(ctx context.Context, store *inmem.Store, keys *registry.Keyring, e env) error {
	log := slog.New(slog.NewJSONHandler(e.stderr, nil))
	policy, err := loadPolicy(d.policy)
	if err != nil {
		return err
	}
	_, receiptKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return err
	}
	signer, err := token.NewSigner(receiptKey)
	if err != nil {
		return err
	}
	addressKey := make([]byte, 32)
	rand.Read(addressKey)

	var limiter ratelimit.Limiter = ratelimit.Unlimited{}
	if !d.unlimited {
		local := ratelimit.NewLocal(ratelimit.Options{})
		go local.Run(ctx)
		limiter = local
	}
	// The dev identity provider issues every audience's tokens; the
	// gateway trusts it and nothing else.
	issuer, err := token.NewDevIssuer()
	if err != nil {
		return err
	}
	verifier, err := token.NewVerifier(ctx, issuer.Config(), token.Options{Logger: log})
	if err != nil {
		return err
	}
	audit := registry.NewAuditWriter(store, registry.AuditWriterOptions{Logger: log})
	datasets, err := devDatasets(ctx, store, policy, audit, d.stateDir, log) // dataset.go
	if err != nil {
		return err
	}
	srv, err := gateway.New(gateway.Deps{
		Logger:      log,
		Registry:    registry.New(store, keys, store, time.Now),
		Policy:      policy,
		Receipts:    signer,
		Limiter:     limiter,
		Audit:       audit,
		AddressKey:  addressKey,
		Tokens:      verifier,
		Replay:      token.NewMemoryReplayCache(100_000, time.Now),
		Codes:       store,
		AuditSearch: store,
		Datasets:    datasets,
		// One process: the in-process quota counts the agency's items.
		Quota: ratelimit.NewMemoryQuota(time.Now),
		Ready: func(ctx context.Context) error {
			_, err := store.Count(ctx)
			return err
		},
		QuietAccessLog: d.unlimited,
	})
	if err != nil {
		return err
	}
	if d.debugAddr != "" {
		stop, err := serveDebug(d.debugAddr, log)
		if err != nil {
			return err
		}
		defer stop()
	}
	ln, err := net.Listen("tcp", d.addr)
	if err != nil {
		return fmt.Errorf("dev: listen: %w", err)
	}
	base := "http://" + ln.Addr().String()
	if d.stateDir != "" {
		if err := writeDevState(d.stateDir, issuer, d.samples, policy); err != nil {
			ln.Close()
			return err
		}
	}
	fmt.Fprintf(e.stdout, "listening on %s (policy %s)\n", base, policy.Version())
	printExamples(e, base, d.stateDir, d.samples)
	serveErr := srv.Serve(ctx, ln, 10*time.Second)
	// Drained: now flush the trail, so nothing served goes unaudited.
	flushCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := audit.Close(flushCtx); err != nil {
		return fmt.Errorf("dev: flush audit trail: %w", err)
	}
	return serveErr
}

func loadPolicy(path string) (*policies.Policy, error) {
	if path == "" {
		return policies.Default()
	}
	return policies.Load(path)
}

// writeDevState writes, for scripts and newcomers, the files DESIGN.md
// names: samples, the dev issuer's key, the keys the gateway trusts, and
// demo tokens.
func writeDevState(dir string, issuer *token.DevIssuer, samples []registry.Record, policy *policies.Policy) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("state dir: %w", err)
	}
	if err := issuer.WriteFiles(dir); err != nil {
		return err
	}
	tokens, err := mintDemoTokens(issuer, samples, policy)
	if err != nil {
		return err
	}
	if err := writeJSON(filepath.Join(dir, "tokens.json"), tokens); err != nil {
		return err
	}
	doc := struct {
		Records       []registry.Record `json:"records"`
		AgencyPurpose string            `json:"agency_purpose"`
	}{samples, devAgencyPurpose}
	if _, ok := policy.Purpose(devAgencyPurpose); !ok {
		return fmt.Errorf("dev: the policy does not accept the dev agency purpose %q", devAgencyPurpose)
	}
	return writeJSON(filepath.Join(dir, "samples.json"), doc)
}

// mintDemoTokens makes one token per audience, valid as long as the policy
// allows (at most a working day).
// The holder is the first sample record's holder.
func mintDemoTokens(issuer *token.DevIssuer, samples []registry.Record, policy *policies.Policy) (map[string]string, error) {
	const officeScopes = "dataset.request dataset.approve audit.read stats.read"
	specs := []struct {
		name, sub, org, scope string
		audience              token.Audience
	}{
		{"agency", "dev-agency-officer", "gov:dev-agency", "degree.verify degree.verify.batch degree.verify.by_id", token.AudienceAgency},
		{"holder", "dev-holder", "", "holder.read holder.codes", token.AudienceHolder},
		{"contractor", "dev-contractor", "pub:dev-research-institute", "dataset.read", token.AudienceContractor},
		{"office", "dev-official-1", "office:national", officeScopes, token.AudienceOffice},
		{"office2", "dev-official-2", "office:national", officeScopes, token.AudienceOffice},
	}
	out := make(map[string]string, len(specs))
	for _, sp := range specs {
		c := issuer.Claims(sp.audience, sp.sub)
		c.Org, c.Scope = sp.org, sp.scope
		if sp.audience == token.AudienceHolder {
			if len(samples) == 0 {
				continue
			}
			c.IDType, c.IDNumber = string(samples[0].IDType), samples[0].IDNumber
		}
		// As long as the policy lets this audience's tokens live.
		lifetime := policy.Limits(policies.Audience(sp.audience)).MaxTokenLifetime
		if lifetime <= 0 || lifetime > 8*time.Hour {
			lifetime = 8 * time.Hour
		}
		tok, err := issuer.Mint(c, lifetime)
		if err != nil {
			return nil, fmt.Errorf("dev: mint the %s token: %w", sp.name, err)
		}
		out[sp.name] = tok
	}
	return out, nil
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o600)
}

func printExamples(e env, base, stateDir string, samples []registry.Record) {
	fmt.Fprintf(e.stdout, "\ntry:\n  curl -s %s/healthz\n  curl -s %s/.well-known/jwks.json\n", base, base)
	if stateDir != "" && len(samples) > 0 {
		fmt.Fprintf(e.stdout, "  # a real certificate from %s/samples.json:\n", stateDir)
		fmt.Fprintf(e.stdout, "  curl -s -H 'Content-Type: application/json' -d \"$(jq -c '.records[0] | {certificate_number, name}' %s/samples.json)\" %s/v1/verify\n",
			stateDir, base)
	} else {
		fmt.Fprintf(e.stdout, "  curl -s -H 'Content-Type: application/json' -d '{\"certificate_number\":\"1000142020000000\",\"name\":\"张三\"}' %s/v1/verify\n", base)
		fmt.Fprintln(e.stdout, "  (run with --state-dir DIR for sample records and demo tokens)")
	}
}
