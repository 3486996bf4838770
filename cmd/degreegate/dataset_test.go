package main

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestDatasetVerbsAgainstPostgres runs the dataset lifecycle with the
// real binary: request, refusals, approval by a second official, build,
// list, the independent check, a trace of a leaked excerpt, and purge
// (with the expiry moved into the past behind the service's back).
func TestDatasetVerbsAgainstPostgres(t *testing.T) {
	dbURL, conn := testDatabase(t)
	ctx := context.Background()
	var tr transcript
	dir := t.TempDir()
	env := []string{"DATABASE_URL=" + dbURL, "DEGREEGATE_KEYS_DIR=" + filepath.Join(dir, "keys"),
		"DEGREEGATE_DATASETS_DIR=" + filepath.Join(dir, "datasets")}
	for _, args := range [][]string{{"keys", "init"}, {"migrate"}} {
		if r := tr.run(t, env, args...); r.code != 0 {
			t.Fatalf("%v: %s", args, r.stderr)
		}
	}
	recs := filepath.Join(dir, "records.csv")
	if r := tr.run(t, env, "gen", "--records", "3000", "--seed", "9", "--out", recs); r.code != 0 {
		t.Fatalf("gen: %s", r.stderr)
	}
	records := readRecords(t, recs)
	if r := tr.run(t, env, "import", "--quiet", recs); r.code != 0 {
		t.Fatalf("import: %s", r.stderr)
	}

	request := func(extra ...string) result {
		args := append([]string{"dataset", "request", "--official", "official-1", "--contractor", "pub:institute",
			"--purpose", "education_statistics_research", "--fields", "gender,degree_level,conferral_date,unit_code,status",
			"--k", "5", "--term", "30d"}, extra...)
		return tr.run(t, env, args...)
	}
	// Bad requests fail with the reason and file nothing.
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"unknown field", []string{"--fields", "gender,shoe_size"}, "unknown field"},
		{"forbidden purpose", []string{"--purpose", "commercial_use"}, "forbidden"},
		{"term over the maximum", []string{"--term", "120d"}, "term"},
		{"k below the minimum", []string{"--k", "2"}, "below the minimum"},
		{"unknown region", []string{"--regions", "atlantis"}, "region"},
	} {
		if r := request(c.args...); r.code == 0 || !strings.Contains(r.stdout+r.stderr, c.want) {
			t.Errorf("%s: exit %d, output lacks %q: %s%s", c.name, r.code, c.want, r.stdout, r.stderr)
		}
	}
	r := request("--years", "1990-2025")
	if r.code != 0 {
		t.Fatalf("request: %s %s", r.stdout, r.stderr)
	}
	id := regexp.MustCompile(`ds_[a-z2-7]{26}`).FindString(r.stdout)
	if id == "" {
		t.Fatalf("request printed no id: %s", r.stdout)
	}
	// The database holds the pseudonym key sealed, never in clear.
	var (
		keyID  string
		keyLen int
	)
	if err := conn.QueryRow(ctx, "SELECT key_id, length(key) FROM datasets WHERE id = $1", id).Scan(&keyID, &keyLen); err != nil {
		t.Fatal(err)
	}
	if keyID == "" || keyLen != 60 {
		t.Errorf("stored key: id %q, %d bytes; want a data key id and a 60-byte seal", keyID, keyLen)
	}
	noKeys := append(env[:len(env):len(env)], "DEGREEGATE_KEYS_DIR=")
	if r := tr.run(t, noKeys, "dataset", "trace", recs); r.code != 2 || !strings.Contains(r.stderr, "DEGREEGATE_KEYS_DIR") {
		t.Errorf("trace without keys: exit %d %s, want a usage error naming DEGREEGATE_KEYS_DIR", r.code, r.stderr)
	}
	if r := tr.run(t, env, "dataset", "approve", id, "--official", "official-1"); r.code == 0 || !strings.Contains(r.stderr, "their own") {
		t.Fatalf("self-approval: exit %d %s", r.code, r.stderr)
	}
	if r := tr.run(t, env, "dataset", "approve", id, "--official", "official-2", "--note", "ok"); r.code != 0 {
		t.Fatalf("approve: %s", r.stderr)
	}
	if r := tr.run(t, env, "dataset", "build"); r.code != 0 || !strings.Contains(r.stdout, id+": ready") {
		t.Fatalf("build: exit %d %s %s", r.code, r.stdout, r.stderr)
	}
	if r := tr.run(t, env, "dataset", "list", "--contractor", "pub:institute"); r.code != 0 || !strings.Contains(r.stdout, id) || !strings.Contains(r.stdout, "ready") {
		t.Fatalf("list: %s %s", r.stdout, r.stderr)
	}
	csvPath := filepath.Join(dir, "datasets", id, "data.csv")
	if r := tr.run(t, env, "dataset", "check", csvPath, "--qi", "gender,degree_level,conferral_date,unit_code", "--k", "5", "--person", "person"); r.code != 0 {
		t.Fatalf("independent check of the built file: %s %s", r.stdout, r.stderr)
	}
	// A leaked excerpt — a few rows, the header gone, re-separated with
	// semicolons — still names the dataset and contractor.
	raw, err := os.ReadFile(csvPath)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(raw), "\n")
	leak := filepath.Join(dir, "leak.txt")
	os.WriteFile(leak, []byte(strings.ReplaceAll(strings.Join(lines[40:43], "\n"), ",", ";")), 0o600)
	if r := tr.run(t, env, "dataset", "trace", leak, "--official", "official-3"); r.code != 0 ||
		!strings.Contains(r.stdout, id) || !strings.Contains(r.stdout, "pub:institute") {
		t.Fatalf("trace: exit %d %s %s", r.code, r.stdout, r.stderr)
	}
	if r := tr.run(t, env, "dataset", "trace", recs); r.code != 1 {
		t.Errorf("trace of a file with no pseudonyms: exit %d, want 1", r.code)
	}
	// Expire it, then purge.
	if _, err := conn.Exec(ctx, "UPDATE datasets SET built_at = $1, expires_at = $2 WHERE id = $3",
		time.Now().Add(-time.Hour), time.Now().Add(-time.Minute), id); err != nil {
		t.Fatal(err)
	}
	if r := tr.run(t, env, "dataset", "purge"); r.code != 0 || !strings.Contains(r.stdout, id) {
		t.Fatalf("purge: %s %s", r.stdout, r.stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "datasets", id)); !os.IsNotExist(err) {
		t.Errorf("purge left the files: %v", err)
	}
	var actions string
	conn.QueryRow(ctx, `SELECT string_agg(DISTINCT action, ',') FROM audit_entries WHERE action LIKE 'dataset.%'`).Scan(&actions)
	for _, a := range []string{"dataset.request", "dataset.approve", "dataset.build", "dataset.trace", "dataset.purge"} {
		if !strings.Contains(actions, a) {
			t.Errorf("no %s on the trail (have %s)", a, actions)
		}
	}
	if r := tr.run(t, env, "audit", "verify"); r.code != 0 {
		t.Errorf("audit verify after the dataset steps: %s", r.stdout)
	}
	assertNoPersonalData(t, tr.String(), records)
}
