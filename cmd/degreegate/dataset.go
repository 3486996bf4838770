package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/degreegate/degreegate/anonymizer"
	"github.com/degreegate/degreegate/datasets"
	"github.com/degreegate/degreegate/policies"
	"github.com/degreegate/degreegate/registry"
	"github.com/degreegate/degreegate/registry/postgres"
)

// The dataset verbs run the research-dataset lifecycle (Art. 23–24) on
// the database named by DATABASE_URL, with the files under
// DEGREEGATE_DATASETS_DIR: the same datasets.Service the gateway's
// office and contractor routes use, each step on the audit trail.

const datasetUsage = `usage: degreegate dataset COMMAND [flags]
  request  --official SUB --contractor ORG --purpose P --fields a,b --k N --term 30d
           [--years 2015-2020] [--levels doctor,master] [--regions 11,east]
           [--sensitive status --l 2] [--max-suppression 0.05] [--method global|mondrian]
  approve  ID --official SUB [--note TEXT]     (a different official than the requester)
  reject   ID --official SUB [--note TEXT]
  build    [ID]                                (no ID: every approved dataset)
  list     [--contractor ORG] [--status S]
  purge                                        (delete the files of expired datasets)
  trace    FILE [--official SUB]               (name the dataset and contractor a leaked file came from)
  check    FILE --qi a,b --k N                 (recompute k and l from a file alone)`

// datasetEnv is what every dataset verb but check needs.
type datasetEnv struct {
	conf *configLoader
	cfg  *Config
	// needKeys: the verb seals or opens pseudonym keys (request, build,
	// trace); the others load the keys only when given.
	needKeys bool
	store    *postgres.Store
	service  *datasets.Service
}

// open loads the settings, connects to the database and builds the
// service.
func (d *datasetEnv) open(ctx context.Context, e env) error {
	cfg, err := d.conf.load()
	if err != nil {
		return err
	}
	d.cfg = cfg
	if err := cfg.requireDatabase(); err != nil {
		return err
	}
	policy, err := loadPolicy(cfg.Policy)
	if err != nil {
		return err
	}
	var keys *registry.Keyring
	switch {
	case cfg.KeysDir != "":
		if keys, err = registry.LoadKeyring(cfg.KeysDir, cfg.keyEnv); err != nil {
			return err
		}
	case d.needKeys:
		return usageError{"no keys folder: dataset pseudonym keys are sealed with the data key; set DEGREEGATE_KEYS_DIR or --keys-dir"}
	}
	store, err := postgres.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	var trail registry.AuditLog = keylessTrail{store}
	if logKey, err := registry.LoadLogKey(cfg.KeysDir, cfg.keyEnv); err == nil {
		trail = registry.Committing{AuditLog: store, Key: logKey}
	}
	svc, err := newDatasetService(store, store, keys, policy, registry.DirectAudit{Log: trail}, cfg.DatasetsDir,
		slog.New(slog.NewJSONHandler(e.stderr, nil)))
	if err != nil {
		store.Close()
		return err
	}
	d.store, d.service = store, svc
	if _, err := svc.SealLegacyKeys(ctx); err != nil {
		d.close()
		return fmt.Errorf("seal dataset keys stored in clear: %w", err)
	}
	return nil
}

func (d *datasetEnv) close() {
	if d.store != nil {
		d.store.Close()
	}
}

// newDatasetService wires the dataset lifecycle over a record store
// and a dataset store, for the dataset verbs, serve and dev alike; keys
// seal each dataset's pseudonym key.
func newDatasetService(records registry.Store, store registry.DatasetStore, keys *registry.Keyring, policy *policies.Policy, audit datasets.Auditor, dir string, log *slog.Logger) (*datasets.Service, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("datasets folder: %w", err)
	}
	return datasets.NewService(datasets.Config{
		Store: store, Records: records, Keys: keys, Policy: policy, Audit: audit, Dir: dir, Logger: log,
	})
}

// splitArgs takes a leading positional argument (an id or a file) off
// args, so it may come before or after the flags.
func splitArgs(args []string) (string, []string) {
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		return args[0], args[1:]
	}
	return "", args
}

func runDatasetVerb(ctx context.Context, verb string, args []string, e env) error {
	fs := newFlags("dataset "+verb, e)
	de := datasetEnv{conf: newConfig(fs, "dataset", e.getenv)}
	pos, args := splitArgs(args)
	var run func() error
	de.needKeys = verb == "request" || verb == "build" || verb == "trace"
	switch verb {
	case "request":
		run = datasetRequest(ctx, fs, &de, e)
	case "approve", "reject":
		run = datasetDecide(ctx, fs, &de, e, verb == "approve", &pos)
	case "build":
		run = datasetBuild(ctx, &de, e, &pos)
	case "list":
		run = datasetList(ctx, fs, &de, e)
	case "purge":
		run = datasetPurge(ctx, &de, e)
	case "trace":
		run = datasetTrace(ctx, fs, &de, e, &pos)
	}
	if help, err := parse(fs, args); help || err != nil {
		return err
	}
	if pos == "" && fs.NArg() > 0 {
		pos = fs.Arg(0)
	} else if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("dataset %s: unexpected argument %q", verb, fs.Arg(0))}
	}
	if err := de.open(ctx, e); err != nil {
		return err
	}
	defer de.close()
	return run()
}

// parseTerm reads a Go duration or whole days ("30d").
func parseTerm(s string) (time.Duration, error) {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n <= 0 {
			return 0, fmt.Errorf("term %q: want whole days such as 30d", s)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("term %q: want a duration such as 720h or days such as 30d", s)
	}
	return d, nil
}

// parseYears reads "2015-2020", "2015-" or "-2020".
func parseYears(s string) (from, to int, err error) {
	if s == "" {
		return 0, 0, nil
	}
	a, b, ok := strings.Cut(s, "-")
	if !ok {
		a, b = s, s
	}
	if a != "" {
		if from, err = strconv.Atoi(a); err != nil {
			return 0, 0, fmt.Errorf("years %q: want YYYY-YYYY", s)
		}
	}
	if b != "" {
		if to, err = strconv.Atoi(b); err != nil {
			return 0, 0, fmt.Errorf("years %q: want YYYY-YYYY", s)
		}
	}
	return from, to, nil
}

func commaList(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

func datasetRequest(ctx context.Context, fs *flag.FlagSet, de *datasetEnv, e env) func() error {
	var (
		official, contractor, purpose, fields, term, years, levels, regions, sensitive, method string
		k, l                                                                                   int
		suppression                                                                            float64
	)
	fs.StringVar(&official, "official", "", "the requesting official (required; another must approve), recorded as cli#NAME")
	fs.StringVar(&contractor, "contractor", "", "the contractor organisation, e.g. pub:research-institute")
	fs.StringVar(&purpose, "purpose", "", "a dataset purpose of the policy")
	fs.StringVar(&fields, "fields", "", "fields, comma-separated")
	fs.IntVar(&k, "k", 0, "people per class, at least the policy's minimum")
	fs.StringVar(&term, "term", "", "how long the files are offered: 30d, 720h, …")
	fs.StringVar(&years, "years", "", "conferral years, e.g. 2015-2020")
	fs.StringVar(&levels, "levels", "", "degree levels, comma-separated")
	fs.StringVar(&regions, "regions", "", "province codes or regions ("+strings.Join(anonymizer.RegionNames(), ", ")+"), comma-separated")
	fs.StringVar(&sensitive, "sensitive", "", "sensitive field for l-diversity")
	fs.IntVar(&l, "l", 0, "l for the sensitive field")
	fs.Float64Var(&suppression, "max-suppression", -1, "largest share of suppressed records (default: the policy's maximum)")
	fs.StringVar(&method, "method", "global", "global or mondrian")
	return func() error {
		dur, err := parseTerm(term)
		if err != nil {
			return usageError{"dataset request: " + err.Error()}
		}
		from, to, err := parseYears(years)
		if err != nil {
			return usageError{"dataset request: " + err.Error()}
		}
		if suppression < 0 {
			suppression = de.service.Policy().Dataset().MaxSuppression
		}
		d, err := de.service.Request(ctx, datasets.Request{
			Contractor: contractor, Purpose: purpose, Official: datasets.OfficialID("cli", official), Actor: "cli:" + official,
			Spec: registry.DatasetSpec{
				Fields: commaList(fields), ConferralYearFrom: from, ConferralYearTo: to, Levels: commaList(levels),
				Regions: commaList(regions), K: k, Sensitive: sensitive, L: l, MaxSuppression: suppression,
				Method: method, Term: dur,
			},
		})
		if err != nil {
			return fmt.Errorf("dataset request: %w", err)
		}
		fmt.Fprintf(e.stdout, "%s requested for %s (%s); waiting for a second official: degreegate dataset approve %s --official OTHER\n",
			d.ID, d.Contractor, d.Purpose, d.ID)
		return nil
	}
}

func datasetDecide(ctx context.Context, fs *flag.FlagSet, de *datasetEnv, e env, approve bool, id *string) func() error {
	var official, note string
	fs.StringVar(&official, "official", "", "the deciding official (required; not the requester)")
	fs.StringVar(&note, "note", "", "why")
	return func() error {
		if *id == "" {
			return usageError{"dataset approve|reject: ID is required"}
		}
		d, err := de.service.Decide(ctx, datasets.Decision{ID: *id, Official: datasets.OfficialID("cli", official), Actor: "cli:" + official, Approve: approve, Note: note})
		if err != nil {
			return fmt.Errorf("dataset %s: %w", map[bool]string{true: "approve", false: "reject"}[approve], err)
		}
		fmt.Fprintf(e.stdout, "%s %s by %s\n", d.ID, d.Status, d.DecidedBy)
		if approve {
			fmt.Fprintf(e.stdout, "build it with: degreegate dataset build %s\n", d.ID)
		}
		return nil
	}
}

func datasetBuild(ctx context.Context, de *datasetEnv, e env, id *string) func() error {
	return func() error {
		ids := []string{*id}
		if *id == "" {
			ds, err := de.store.Datasets(ctx, registry.DatasetQuery{Statuses: []registry.DatasetStatus{registry.DatasetApproved}})
			if err != nil {
				return err
			}
			ids = ids[:0]
			for i := len(ds) - 1; i >= 0; i-- {
				ids = append(ids, ds[i].ID)
			}
			if len(ids) == 0 {
				fmt.Fprintln(e.stdout, "no approved dataset waits for a build")
				return nil
			}
		}
		failed := false
		for _, id := range ids {
			start := time.Now()
			d, err := de.service.Build(ctx, id)
			if err != nil {
				fmt.Fprintf(e.stdout, "%s: build failed: %v\n", id, err)
				failed = true
				continue
			}
			fmt.Fprintf(e.stdout, "%s: ready in %s, files in %s, expires %s\n", id, time.Since(start).Round(time.Millisecond),
				de.service.Folder(id), d.ExpiresAt.Format(time.RFC3339))
		}
		if failed {
			return errReported
		}
		return nil
	}
}

func datasetList(ctx context.Context, fs *flag.FlagSet, de *datasetEnv, e env) func() error {
	var contractor, status string
	fs.StringVar(&contractor, "contractor", "", "only this contractor's datasets")
	fs.StringVar(&status, "status", "", "only datasets in this status")
	return func() error {
		q := registry.DatasetQuery{Contractor: contractor}
		if status != "" {
			if !registry.DatasetStatus(status).Known() {
				return usageError{fmt.Sprintf("dataset list: unknown status %q", status)}
			}
			q.Statuses = []registry.DatasetStatus{registry.DatasetStatus(status)}
		}
		ds, err := de.store.Datasets(ctx, q)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tSTATUS\tCONTRACTOR\tPURPOSE\tK\tREQUESTED BY\tDECIDED BY\tEXPIRES")
		for _, d := range ds {
			expires := "-"
			if !d.ExpiresAt.IsZero() {
				expires = d.ExpiresAt.Format(time.RFC3339)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\n", d.ID, d.Status, d.Contractor, d.Purpose, d.Spec.K,
				d.RequestedBy, orDash(d.DecidedBy), expires)
		}
		return tw.Flush()
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func datasetPurge(ctx context.Context, de *datasetEnv, e env) func() error {
	return func() error {
		ids, err := de.service.Purge(ctx)
		for _, id := range ids {
			fmt.Fprintf(e.stdout, "%s: expired, files deleted\n", id)
		}
		if err != nil {
			return fmt.Errorf("dataset purge: %w", err)
		}
		fmt.Fprintf(e.stdout, "%d datasets purged\n", len(ids))
		return nil
	}
}

func datasetTrace(ctx context.Context, fs *flag.FlagSet, de *datasetEnv, e env, file *string) func() error {
	var official string
	fs.StringVar(&official, "official", "", "who traces (recorded in the audit trail)")
	return func() error {
		if *file == "" {
			return usageError{"dataset trace: FILE is required"}
		}
		actor := "cli:" + official
		if official == "" {
			actor = "cli:unnamed"
		}
		res, err := de.service.Trace(ctx, *file, actor)
		if err != nil {
			return fmt.Errorf("dataset trace: %w", err)
		}
		if len(res.Matches) == 0 {
			fmt.Fprintf(e.stdout, "no dataset recognised: %d pseudonym-shaped tokens checked\n", res.Candidates)
			return errReported
		}
		for _, m := range res.Matches {
			d := m.Dataset
			fmt.Fprintf(e.stdout, "dataset %s, contractor %s, purpose %s, built %s, status %s: %d of %d pseudonyms are its own\n",
				d.ID, d.Contractor, d.Purpose, d.BuiltAt.Format(time.RFC3339), d.Status, m.Recognised, res.Candidates)
		}
		return nil
	}
}

func datasetVerbKnown(v string) bool {
	switch v {
	case "request", "approve", "reject", "build", "list", "purge", "trace":
		return true
	}
	return false
}

// keylessTrail is the trail of a dataset command run without the keys:
// what needs no audit entry works, and what does is refused, naming
// what is missing.
type keylessTrail struct{ registry.AuditLog }

func (keylessTrail) AppendAudit(context.Context, []registry.AuditEntry) error {
	return errors.New("this step is written to the audit trail, whose entries are committed to the log with the log's leaf key: set DEGREEGATE_KEYS_DIR or --keys-dir")
}
