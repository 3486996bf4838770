package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/degreegate/degreegate/gateway/ratelimit"
	"github.com/degreegate/degreegate/gateway/token"
	"github.com/degreegate/degreegate/policies"
	"github.com/degreegate/degreegate/registry"
	"github.com/degreegate/degreegate/registry/inmem"
	"github.com/degreegate/degreegate/translog"
)

// devGateway is what dev runs: the gateway over the embedded store, with
// keys made fresh at every start.
type devGateway struct {
	cfg       *Config
	stateDir  string
	unlimited bool
	samples   []registry.Record
	leaf      *registry.LogKey // the log's leaf key, which filed the samples
}

func (d devGateway) run(ctx context.Context, store *inmem.Store, keys *registry.Keyring, e env) (err error) {
	log := slog.New(slog.NewJSONHandler(e.stderr, nil))
	policy, err := loadPolicy(d.cfg.Policy)
	if err != nil {
		return err
	}
	// The dev identity provider issues every audience's tokens; the
	// gateway trusts it and nothing else. Under --state-dir it keeps its
	// key from run to run, so tokens and scripts made before still work.
	var issuer *token.DevIssuer
	if d.stateDir != "" {
		if err := os.MkdirAll(d.stateDir, 0o700); err != nil {
			return fmt.Errorf("dev: %w", err)
		}
		issuer, err = token.OpenDevIssuer(d.stateDir)
	} else {
		issuer, err = token.NewDevIssuer()
	}
	if err != nil {
		return fmt.Errorf("dev: issuer: %w", err)
	}
	l := newLifecycle()
	defer func() {
		if cerr := l.close(); cerr != nil && err == nil {
			err = fmt.Errorf("dev: %w", cerr)
		}
	}()
	// The examples dev prints read samples.json and tokens.json: without
	// --state-dir they live in a temporary folder removed at exit, so
	// every example works as printed and no record is printed.
	state := d.stateDir
	if state == "" {
		if state, err = os.MkdirTemp("", "degreegate-dev-state-"); err != nil {
			return fmt.Errorf("dev: %w", err)
		}
		l.onClose(func() error { return os.RemoveAll(state) })
		fmt.Fprintf(e.stdout, "writing samples.json, dev-issuer.jwk, jwks.json and tokens.json to %s (removed at exit; --state-dir DIR keeps them)\n", state)
	}
	a, err := d.adapters(ctx, store, keys, issuer, l, log)
	if err != nil {
		return err
	}
	srv, err := buildGateway(d.cfg, policy, a, d.unlimited, l, log)
	if err != nil {
		return err
	}
	serveErr := serveGateway(ctx, srv, d.cfg, 10*time.Second, l, log, func(base string) error {
		if err := writeDevState(state, issuer, d.samples, policy); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "listening on %s (policy %s)\n", base, policy.Version())
		printExamples(e, base, state)
		return nil
	})
	if serveErr != nil {
		serveErr = fmt.Errorf("dev: %w", serveErr)
	}
	// Drained: now stop the workers and flush the trail, so nothing
	// served goes unaudited.
	if err := l.close(); err != nil {
		return fmt.Errorf("dev: %w", err)
	}
	return serveErr
}

// adapters are dev's in-process adapters: fresh keys, local limits, the
// dev issuer's tokens, and research datasets in memory.
func (d devGateway) adapters(ctx context.Context, store *inmem.Store, keys *registry.Keyring, issuer *token.DevIssuer, l *lifecycle, log *slog.Logger) (adapters, error) {
	_, receiptKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return adapters{}, err
	}
	signer, err := token.NewSigner(receiptKey)
	if err != nil {
		return adapters{}, err
	}
	addressKey := make([]byte, 32)
	rand.Read(addressKey)

	var limiter ratelimit.Limiter = ratelimit.Unlimited{}
	if !d.unlimited {
		local := ratelimit.NewLocal(ratelimit.Options{})
		l.Go(local.Run)
		limiter = local
	}
	verifier, err := token.NewVerifier(ctx, issuer.Config(), token.Options{Logger: log})
	if err != nil {
		return adapters{}, err
	}
	// The requests live in memory and die with the process, and so may
	// the key that seals their pseudonym keys.
	datasetKeys, err := registry.NewRandomKeyring()
	if err != nil {
		return adapters{}, fmt.Errorf("dev: dataset keys: %w", err)
	}
	dir, err := devDir(d.cfg.DatasetsDir, d.stateDir, "datasets", l)
	if err != nil {
		return adapters{}, err
	}
	logKeys, checkpoints, err := d.devLog(l)
	if err != nil {
		return adapters{}, err
	}
	return adapters{
		store:         store,
		publicMetrics: true,
		keys:          keys,
		datasets:      inmem.NewDatasets(),
		datasetKeys:   datasetKeys,
		datasetsDir:   dir,
		log:           logKeys,
		checkpoints:   checkpoints,
		receipts:      signer,
		addressKey:    addressKey,
		limiter:       limiter,
		replay:        token.NewMemoryReplayCache(100_000, time.Now),
		tokens:        verifier,
		// One process: the in-process quota counts the agency's items.
		quota: ratelimit.NewMemoryQuota(time.Now),
		ready: func(ctx context.Context) error {
			_, err := store.Count(ctx)
			return err
		},
	}, nil
}

// devDir is where dev keeps files of one kind (name): the setting,
// else --state-dir/name, else a temporary folder that l removes at exit.
func devDir(setting, stateDir, name string, l *lifecycle) (string, error) {
	switch {
	case setting != "":
		return setting, nil
	case stateDir != "":
		return filepath.Join(stateDir, name), nil
	}
	dir, err := os.MkdirTemp("", "degreegate-"+name+"-")
	if err != nil {
		return "", fmt.Errorf("dev: %s folder: %w", name, err)
	}
	l.onClose(func() error { return os.RemoveAll(dir) })
	return dir, nil
}

// devLog makes the keys of dev's transparency log, which lives as long
// as the process and its trail, and the folder of its checkpoints. Under
// --state-dir the folder starts empty (the last run's log is gone), and
// DIR/log.vkey is the log's verifier key, for trying a witness.
func (d devGateway) devLog(l *lifecycle) (logKeys, string, error) {
	skey, vkey, err := translog.GenerateKey("degreegate/dev/" + rand.Text()[:12])
	if err != nil {
		return logKeys{}, "", err
	}
	k := logKeys{leaf: d.leaf}
	if k.signer, err = translog.NewSigner(skey); err != nil {
		return logKeys{}, "", err
	}
	if k.verifier, err = translog.NewVerifier(vkey); err != nil {
		return logKeys{}, "", err
	}
	dir, err := devDir(d.cfg.CheckpointsDir, d.stateDir, "checkpoints", l)
	if err != nil {
		return logKeys{}, "", err
	}
	if d.cfg.CheckpointsDir == "" && d.stateDir != "" {
		if err := os.RemoveAll(dir); err != nil {
			return logKeys{}, "", fmt.Errorf("dev: checkpoints folder: %w", err)
		}
		if err := os.MkdirAll(d.stateDir, 0o700); err != nil {
			return logKeys{}, "", fmt.Errorf("dev: %w", err)
		}
		if err := os.WriteFile(filepath.Join(d.stateDir, registry.LogVerifierFile), []byte(vkey+"\n"), 0o644); err != nil {
			return logKeys{}, "", fmt.Errorf("dev: %w", err)
		}
	}
	return k, dir, nil
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
		return fmt.Errorf("the policy does not accept the dev agency purpose %q", devAgencyPurpose)
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
		// The filing workflow's staff: a collector and a checker of unit
		// 10001 (Beijing), its province, and the national office.
		{"filing_collector", "dev-collector", "unit:10001", "filing.collect", token.AudienceOffice},
		{"filing_checker", "dev-checker", "unit:10001", "filing.check", token.AudienceOffice},
		{"filing_province", "dev-province-reviewer", "province:11", "filing.review", token.AudienceOffice},
		{"filing_national", "dev-national-officer", "national", "filing.consent", token.AudienceOffice},
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

// printExamples prints a command for every role that works as printed
// against this dev (TestDevExamplesWork runs each): a public verification
// that matches, a holder's, an agency's (with a token minted per call:
// its jti is single-use), an official's and a contractor's call. They
// read the records and tokens from stateDir's files, so that no record
// is printed.
func printExamples(e env, base, stateDir string) {
	fmt.Fprintf(e.stdout, "\ntry (each line works as printed; the web page is %s/):\n", base)
	fmt.Fprintf(e.stdout, "  curl -s %s/healthz\n", base)
	samplesFile := shellQuote(filepath.Join(stateDir, "samples.json"))
	fmt.Fprintf(e.stdout, "  # the public: a filed degree and its holder's name (from %s) answer \"match\", with a signed receipt\n", samplesFile)
	fmt.Fprintf(e.stdout, "  curl -s -H 'Content-Type: application/json' -d \"$(jq -c '.records[0] | {certificate_number, name}' %s)\" %s/v1/verify\n", samplesFile, base)
	tokens := filepath.Join(stateDir, "tokens.json")
	bearer := func(role string) string {
		return fmt.Sprintf(`-H "Authorization: Bearer $(jq -r .%s %s)"`, role, shellQuote(tokens))
	}
	fmt.Fprintf(e.stdout, "  # the holder of that degree: their degrees, and who looked at them\n")
	fmt.Fprintf(e.stdout, "  curl -s %s %s/v1/holder/degrees\n", bearer("holder"), base)
	fmt.Fprintf(e.stdout, "  curl -s %s %s/v1/holder/access-log\n", bearer("holder"), base)
	fmt.Fprintf(e.stdout, "  # an agency, for a declared purpose; a fresh token each call (its jti is single-use)\n")
	fmt.Fprintf(e.stdout, "  curl -s -H \"Authorization: Bearer $(%s token --key %s --audience agency --sub dev-agency-officer --org gov:dev-agency --scope 'degree.verify degree.verify.batch')\" -H 'Content-Type: application/json' -d \"$(jq -c '{purpose: .agency_purpose, queries: [.records[0] | {certificate_number, name}]}' %s)\" %s/v1/agency/verify\n",
		selfCommand(), shellQuote(filepath.Join(stateDir, token.DevIssuerFile)), samplesFile, base)
	fmt.Fprintf(e.stdout, "  # an official: the audit trail; a research contractor: their datasets\n")
	fmt.Fprintf(e.stdout, "  curl -s %s '%s/v1/office/audit?limit=5'\n", bearer("office"), base)
	fmt.Fprintf(e.stdout, "  curl -s %s %s/v1/datasets\n", bearer("contractor"), base)
}

// selfCommand is how a shell runs this binary again: its path, or under
// `go run` (whose binary is deleted at exit) `go run ./cmd/degreegate`.
func selfCommand() string {
	exe, err := os.Executable()
	if err != nil || strings.Contains(exe, "go-build") {
		return "go run ./cmd/degreegate"
	}
	return shellQuote(exe)
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r == '/' || r == '.' || r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z')
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
