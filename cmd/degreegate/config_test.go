package main

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// mapEnv is a getenv over vars.
func mapEnv(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

// loadFor parses args for verb's settings over vars.
func loadFor(t *testing.T, verb string, vars map[string]string, args ...string) (*Config, error) {
	t.Helper()
	fs := newFlags(verb, env{stderr: &bytes.Buffer{}})
	conf := newConfig(fs, verb, mapEnv(vars))
	if help, err := parse(fs, args); help || err != nil {
		t.Fatalf("parse %v: help %v, %v", args, help, err)
	}
	return conf.load()
}

const secretURL = "postgres://degreegate:hunter2-secret@db.internal:5432/registry"

func TestDatabaseURLFromAFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "database-url")
	if err := os.WriteFile(path, []byte(secretURL+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, verb := range databaseVerbs {
		cfg, err := loadFor(t, verb, map[string]string{"DATABASE_URL_FILE": path})
		if err != nil {
			t.Fatalf("%s: %v", verb, err)
		}
		if cfg.DatabaseURL != secretURL {
			t.Errorf("%s: DATABASE_URL %q, want the file's content without its newline", verb, cfg.DatabaseURL)
		}
	}
	// A flag still wins over the environment.
	cfg, err := loadFor(t, "migrate", map[string]string{"DATABASE_URL_FILE": path}, "--database-url", "postgres://other/db")
	if err != nil || cfg.DatabaseURL != "postgres://other/db" {
		t.Errorf("--database-url over DATABASE_URL_FILE: %q, %v", cfg.DatabaseURL, err)
	}
}

func TestSecretFileErrorsNameTheVariableNotTheSecret(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "database-url")
	os.WriteFile(path, []byte(secretURL), 0o600)
	empty := filepath.Join(dir, "empty")
	os.WriteFile(empty, []byte("\n"), 0o600)
	for _, tc := range []struct {
		name string
		vars map[string]string
		says []string
	}{
		{"both set", map[string]string{"DATABASE_URL": secretURL, "DATABASE_URL_FILE": path}, []string{"DATABASE_URL and DATABASE_URL_FILE are both set"}},
		{"unreadable", map[string]string{"DATABASE_URL_FILE": filepath.Join(dir, "missing")}, []string{"DATABASE_URL_FILE", "missing"}},
		{"a folder", map[string]string{"DATABASE_URL_FILE": dir}, []string{"DATABASE_URL_FILE"}},
		{"empty", map[string]string{"DATABASE_URL_FILE": empty}, []string{"DATABASE_URL_FILE", "empty"}},
		{"REDIS_URL both set", map[string]string{"REDIS_URL": secretURL, "REDIS_URL_FILE": path}, []string{"REDIS_URL and REDIS_URL_FILE"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := loadFor(t, "serve", tc.vars)
			if err == nil {
				t.Fatal("loaded")
			}
			for _, s := range tc.says {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("%q does not say %q", err, s)
				}
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("the error shows the secret: %q", err)
			}
		})
	}
}

// The whole verb, in process: migrate reads DATABASE_URL_FILE, and a
// bad one stops it with a message naming the variable.
func TestMigrateWithDatabaseURLFile(t *testing.T) {
	dbURL, _ := testDatabase(t)
	path := filepath.Join(t.TempDir(), "database-url")
	if err := os.WriteFile(path, []byte(dbURL+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	vars := map[string]string{"DATABASE_URL_FILE": path}
	if err := run(context.Background(), []string{"migrate"}, mapEnv(vars), nil, &out, &errb); err != nil {
		t.Fatalf("migrate: %v\n%s", err, errb.String())
	}
	vars["DATABASE_URL"] = dbURL
	err := run(context.Background(), []string{"migrate"}, mapEnv(vars), nil, &out, &errb)
	if err == nil || !strings.Contains(err.Error(), "DATABASE_URL_FILE") || strings.Contains(err.Error(), dbURL) {
		t.Errorf("both set: %v", err)
	}
}

// -h lists the flags but never a secret taken from the environment.
func TestHelpNeverPrintsASecret(t *testing.T) {
	for _, verb := range []string{"serve", "migrate", "import", "revoke"} {
		var out, errb bytes.Buffer
		vars := map[string]string{"DATABASE_URL": secretURL, "REDIS_URL": "redis://:hunter2-secret@redis:6379/0", "DEGREEGATE_DATA_KEY": "hunter2-secret"}
		if err := run(context.Background(), []string{verb, "-h"}, mapEnv(vars), nil, &out, &errb); err != nil {
			t.Fatalf("%s -h: %v", verb, err)
		}
		help := out.String() + errb.String()
		if !strings.Contains(help, "-database-url") || !strings.Contains(help, "DATABASE_URL_FILE") {
			t.Errorf("%s -h does not list --database-url and its _FILE variant:\n%s", verb, help)
		}
		if strings.Contains(help, "hunter2") {
			t.Errorf("%s -h prints a secret:\n%s", verb, help)
		}
	}
}

func TestDatasetsDirIsAbsoluteForEveryVerb(t *testing.T) {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for _, verb := range []string{"serve", "dataset", "dev"} {
		cfg, err := loadFor(t, verb, map[string]string{"DEGREEGATE_DATASETS_DIR": "shared/datasets"})
		if err != nil {
			t.Fatal(err)
		}
		if want := filepath.Join(wd, "shared", "datasets"); cfg.DatasetsDir != want {
			t.Errorf("%s: datasets dir %q, want %q", verb, cfg.DatasetsDir, want)
		}
	}
	// serve and the dataset verbs keep their default folder, ./datasets.
	cfg, err := loadFor(t, "serve", nil)
	if err != nil || cfg.DatasetsDir != filepath.Join(wd, "datasets") {
		t.Errorf("serve's default datasets dir: %q, %v", cfg.DatasetsDir, err)
	}
	// dev without one keeps its own default (under --state-dir, else temporary).
	if cfg, err := loadFor(t, "dev", nil); err != nil || cfg.DatasetsDir != "" {
		t.Errorf("dev's default datasets dir: %q, %v", cfg.DatasetsDir, err)
	}
}

func TestBadSettingsNameThemselves(t *testing.T) {
	for _, tc := range []struct {
		verb string
		vars map[string]string
		args []string
		says string
	}{
		{"serve", map[string]string{"DEGREEGATE_REQUEST_TIMEOUT": "soon"}, nil, "DEGREEGATE_REQUEST_TIMEOUT"},
		{"serve", nil, []string{"--request-timeout", "0s"}, "DEGREEGATE_REQUEST_TIMEOUT"},
		{"serve", map[string]string{"DEGREEGATE_TRUSTED_PROXIES": "not-a-cidr"}, nil, "DEGREEGATE_TRUSTED_PROXIES"},
		{"serve", map[string]string{"DEGREEGATE_PUBLIC_URL": "ftp://x"}, nil, "DEGREEGATE_PUBLIC_URL"},
		{"dev", nil, []string{"--metrics-addr", "0.0.0.0:6060"}, "--metrics-addr"},
	} {
		if _, err := loadFor(t, tc.verb, tc.vars, tc.args...); err == nil || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("%s %v %v: %v, want an error naming %s", tc.verb, tc.vars, tc.args, err, tc.says)
		}
	}
}

// The table itself: a flag at most once per verb, secrets from the
// environment, every verb named one that exists.
func TestSettingsTableIsWellFormed(t *testing.T) {
	known := map[string]bool{}
	for _, v := range verbs() {
		known[v.name] = true
	}
	seen := map[string]bool{}
	for _, s := range settings {
		if s.flag == "" && s.env == "" {
			t.Errorf("a setting has neither flag nor variable: %q", s.usage)
		}
		if s.secret && s.env == "" {
			t.Errorf("secret %s has no variable, so no _FILE", s.name())
		}
		if s.flag == "" && !s.secret {
			t.Errorf("%s: an environment-only setting should be a secret (else give it a flag)", s.name())
		}
		for _, v := range s.verbs {
			if !known[v] {
				t.Errorf("%s: unknown verb %q", s.name(), v)
			}
			key := v + " " + s.flag + " " + s.env
			if s.flag != "" {
				key = v + " --" + s.flag
			}
			if seen[key] {
				t.Errorf("%s twice for %s", s.name(), v)
			}
			seen[key] = true
		}
		// Every field is of a type bind knows (it panics otherwise).
		fs := newFlags("check", env{stderr: &bytes.Buffer{}})
		if err := s.bind(fs, &Config{}, s.def); err != nil {
			t.Errorf("%s: its default %q does not parse: %v", s.name(), s.def, err)
		}
	}
	if !slices.Contains(databaseVerbs, "serve") {
		t.Error("serve needs the database")
	}
}

func TestConfigLogsRedacted(t *testing.T) {
	cfg, err := loadFor(t, "serve", map[string]string{"DATABASE_URL": secretURL, "REDIS_URL": "redis://:hunter2-secret@redis:6379/0", "DEGREEGATE_INDEX_KEY": "hunter2-secret"})
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("settings", "config", cfg)
	if strings.Contains(logs.String(), "hunter2") || !strings.Contains(logs.String(), `"DATABASE_URL":"[redacted]"`) ||
		!strings.Contains(logs.String(), `"--grace":"20s"`) {
		t.Errorf("logged config: %s", logs.String())
	}
}

// Every verb, and every verb of sub-verbs, answers -h with its usage
// and no error (DESIGN.md).
func TestEveryVerbAnswersHelp(t *testing.T) {
	for _, v := range verbs() {
		var out, errb bytes.Buffer
		if err := run(context.Background(), []string{v.name, "-h"}, mapEnv(nil), nil, &out, &errb); err != nil {
			t.Errorf("%s -h: %v", v.name, err)
		}
		if out.Len()+errb.Len() == 0 {
			t.Errorf("%s -h printed nothing", v.name)
		}
		defaultsOnce(t, v.name, out.String()+errb.String())
	}
	for _, sub := range [][]string{{"keys", "init"}, {"audit", "verify"}, {"log", "witness"}, {"receipt", "verify"}, {"dataset", "list"}, {"dataset", "check"}, {"filing", "overdue"}} {
		var out, errb bytes.Buffer
		if err := run(context.Background(), append(sub, "-h"), mapEnv(nil), nil, &out, &errb); err != nil {
			t.Errorf("%v -h: %v", sub, err)
		}
		defaultsOnce(t, strings.Join(sub, " "), out.String()+errb.String())
	}
}

// defaultsOnce: each flag of a usage text names its default at most once
// (issue 16, item 16: a usage that spelt its default out printed it twice,
// once more from the flag package).
func defaultsOnce(t *testing.T, verb, usage string) {
	t.Helper()
	var flag []string
	check := func() {
		if entry := strings.Join(flag, " "); strings.Count(strings.ToLower(entry), "default") > 1 {
			t.Errorf("%s -h: a default said twice: %s", verb, entry)
		}
	}
	for _, line := range strings.Split(usage, "\n") {
		if strings.HasPrefix(line, "  -") {
			check()
			flag = nil
		}
		flag = append(flag, strings.TrimSpace(line))
	}
	check()
}

func TestVersion(t *testing.T) {
	var tr transcript
	r := tr.run(t, nil, "version")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "degreegate ") || !strings.Contains(r.stdout, "go1.") {
		t.Fatalf("version: exit %d %q", r.code, r.stdout)
	}
}
