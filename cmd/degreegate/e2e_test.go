package main

// End-to-end tests: they build the real binary once and run its verbs as
// a user would, against the real PostgreSQL when
// DEGREEGATE_TEST_DATABASE_URL is set.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/degreegate/degreegate/registry"
	"github.com/degreegate/degreegate/registry/recordfile"
)

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "degreegate-e2e")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "degreegate")
	build := exec.Command("go", "build", "-race", "-o", binary, ".")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build degreegate:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type result struct {
	code           int
	stdout, stderr string
}

// transcript collects everything the binary printed in a test, for the
// privacy check at the end.
type transcript struct{ bytes.Buffer }

func (tr *transcript) run(t *testing.T, env []string, args ...string) result {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run %v: %v", args, err)
	}
	tr.Write(out.Bytes())
	tr.Write(errb.Bytes())
	return result{code, out.String(), errb.String()}
}

// assertNoPersonalData fails if any synthetic person's name or ID number,
// phone or e-mail appears in what the binary printed.
func assertNoPersonalData(t *testing.T, printed string, records []registry.Record) {
	t.Helper()
	for _, r := range records {
		for what, v := range map[string]string{"name": r.Name, "id_number": r.IDNumber, "phone": r.Phone, "email": r.Email} {
			if len([]rune(v)) >= 2 && strings.Contains(printed, v) {
				t.Errorf("output contains a record's %s", what)
			}
		}
	}
}

func readRecords(t *testing.T, path string) []registry.Record {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	format, _ := recordfile.FormatOf(path)
	rd, err := recordfile.NewReader(f, format, recordfile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var out []registry.Record
	for {
		row, err := rd.Next()
		if err == io.EOF {
			return out
		}
		if err != nil || len(row.Problems) > 0 {
			t.Fatalf("generated file unreadable at line %d: %v %v", row.Line, err, row.Problems)
		}
		out = append(out, row.Record)
	}
}

func TestGenIsDeterministic(t *testing.T) {
	var tr transcript
	dir := t.TempDir()
	a, b, c := filepath.Join(dir, "a.csv"), filepath.Join(dir, "b.csv"), filepath.Join(dir, "c.csv")
	for _, args := range [][]string{
		{"gen", "--records", "500", "--seed", "9", "--out", a},
		{"gen", "--records", "500", "--seed", "9", "--out", b},
		{"gen", "--records", "500", "--seed", "10", "--out", c},
	} {
		if r := tr.run(t, nil, args...); r.code != 0 {
			t.Fatalf("%v: exit %d: %s", args, r.code, r.stderr)
		}
	}
	ba, _ := os.ReadFile(a)
	bb, _ := os.ReadFile(b)
	bc, _ := os.ReadFile(c)
	if !bytes.Equal(ba, bb) {
		t.Error("same seed, different output")
	}
	if bytes.Equal(ba, bc) {
		t.Error("different seed, same output")
	}
	recs := readRecords(t, a)
	if len(recs) != 500 {
		t.Fatalf("read back %d records, want 500", len(recs))
	}
	jr := tr.run(t, nil, "gen", "--records", "3", "--format", "jsonl")
	if lines := strings.Split(strings.TrimSpace(jr.stdout), "\n"); jr.code != 0 || len(lines) != 3 || !json.Valid([]byte(lines[0])) {
		t.Errorf("jsonl to stdout: exit %d, %d lines", jr.code, len(lines))
	}
	if r := tr.run(t, nil, "gen", "--format", "xml"); r.code != 2 {
		t.Errorf("bad format: exit %d, want 2", r.code)
	}
}

func TestKeysInitNeverOverwrites(t *testing.T) {
	var tr transcript
	dir := filepath.Join(t.TempDir(), "keys")
	if r := tr.run(t, nil, "keys", "init", "--dir", dir); r.code != 0 {
		t.Fatalf("keys init: %d %s", r.code, r.stderr)
	}
	before, _ := os.ReadFile(filepath.Join(dir, registry.DataKeysFile))
	r := tr.run(t, nil, "keys", "init", "--dir", dir)
	after, _ := os.ReadFile(filepath.Join(dir, registry.DataKeysFile))
	if r.code == 0 || !bytes.Equal(before, after) {
		t.Fatalf("second keys init: exit %d, file changed %v", r.code, !bytes.Equal(before, after))
	}
	if strings.Contains(tr.String(), strings.TrimSpace(string(before))) {
		t.Error("keys init printed key material")
	}
	// Run on every start of a deployment, --exist-ok succeeds and writes nothing.
	r = tr.run(t, nil, "keys", "init", "--dir", dir, "--exist-ok")
	after, _ = os.ReadFile(filepath.Join(dir, registry.DataKeysFile))
	if r.code != 0 || !bytes.Equal(before, after) || !strings.Contains(r.stdout, "nothing written") {
		t.Fatalf("keys init --exist-ok over a full folder: exit %d %s, file changed %v", r.code, r.stdout, !bytes.Equal(before, after))
	}
}

// testDatabase returns a DATABASE_URL confined to a fresh schema.
func testDatabase(t *testing.T) (string, *pgx.Conn) {
	t.Helper()
	base := os.Getenv("DEGREEGATE_TEST_DATABASE_URL")
	if base == "" {
		t.Skip("set DEGREEGATE_TEST_DATABASE_URL to run the PostgreSQL end-to-end tests")
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("DEGREEGATE_TEST_DATABASE_URL is set but unreachable: %v", err)
	}
	suffix := make([]byte, 6)
	rand.Read(suffix)
	schema := "dge2e_" + hex.EncodeToString(suffix)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
		conn.Close(context.Background())
	})
	if _, err := conn.Exec(ctx, "SET search_path TO "+schema); err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), conn
}

func TestImportAndAuditAgainstPostgres(t *testing.T) {
	dbURL, conn := testDatabase(t)
	ctx := context.Background()
	var tr transcript
	dir := t.TempDir()
	env := []string{"DATABASE_URL=" + dbURL, "DEGREEGATE_KEYS_DIR=" + filepath.Join(dir, "keys")}

	if r := tr.run(t, env, "keys", "init"); r.code != 0 {
		t.Fatalf("keys init: %s", r.stderr)
	}
	if r := tr.run(t, env, "migrate"); r.code != 0 || !strings.Contains(r.stdout, "applied 00001_record_versions.sql") || !strings.Contains(r.stdout, "applied 00008_log.sql") {
		t.Fatalf("migrate does not say what it applied: %s %s", r.stdout, r.stderr)
	}
	if r := tr.run(t, env, "migrate"); r.code != 0 || strings.Contains(r.stdout, "applied 0") || !strings.Contains(r.stdout, "nothing to apply") {
		t.Fatalf("second migrate is not a no-op: %s %s", r.stdout, r.stderr)
	}
	good := filepath.Join(dir, "good.csv")
	if r := tr.run(t, env, "gen", "--records", "3000", "--seed", "4", "--out", good); r.code != 0 {
		t.Fatalf("gen: %s", r.stderr)
	}
	records := readRecords(t, good)

	// A second file: a copy of a few good rows plus bad ones, one per kind
	// of problem, each on a known line.
	raw, _ := os.ReadFile(good)
	lines := strings.SplitAfter(string(raw), "\n")
	header, row := lines[0], lines[1]
	badFile := filepath.Join(dir, "bad.csv")
	gbk := []byte("\xd5\xc5\xc8\xfd,1\n") // "张三" in GBK
	bad := header +                       // line 1
		row + // line 2: identical to a filed record: unchanged
		"too,few,columns\n" + // line 3
		strings.Replace(lines[2], records[1].BirthDate.String(), "2001-02-30", 1) + // line 4: impossible date
		string(gbk) // line 5: not UTF-8
	os.WriteFile(badFile, []byte(bad), 0o600)

	r := tr.run(t, env, "import", "--report", filepath.Join(dir, "report.csv"), good)
	if r.code != 0 {
		t.Fatalf("import of generated records: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	var n int
	conn.QueryRow(ctx, "SELECT count(DISTINCT certificate_number) FROM record_versions").Scan(&n)
	if n != len(records) {
		t.Fatalf("database holds %d certificates, want %d", n, len(records))
	}

	r = tr.run(t, env, "import", badFile)
	if r.code != 1 {
		t.Fatalf("import of bad file: exit %d, want 1\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{":3: row: field_count", ":4: birth_date:", ":5: "} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("bad-file report lacks %q:\n%s", want, r.stdout)
		}
	}
	if !strings.Contains(r.stdout, "not UTF-8 at line 5") {
		t.Errorf("GBK line not reported as not UTF-8 at line 5:\n%s", r.stdout)
	}
	if !strings.Contains(r.stderr, "1 already filed") {
		t.Errorf("identical row not reported unchanged:\n%s", r.stderr)
	}
	conn.QueryRow(ctx, "SELECT count(*) FROM record_versions").Scan(&n)
	if n != len(records) {
		t.Fatalf("after the bad import the database holds %d versions, want %d unchanged", n, len(records))
	}

	// No clear direct identifier anywhere in the stored rows.
	var dump strings.Builder
	rows, err := conn.Query(ctx, "SELECT row_to_json(v)::text FROM record_versions v")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var s string
		rows.Scan(&s)
		dump.WriteString(s)
	}
	rows.Close()
	for _, rec := range records {
		for what, v := range map[string]string{"id_number": rec.IDNumber, "phone": rec.Phone, "email": rec.Email} {
			if v != "" && strings.Contains(dump.String(), v) {
				t.Fatalf("a stored row holds a clear %s", what)
			}
		}
	}

	if r := tr.run(t, env, "audit", "verify"); r.code != 0 || !strings.Contains(r.stdout, "intact") {
		t.Fatalf("audit verify on an untouched trail: exit %d %s %s", r.code, r.stdout, r.stderr)
	}
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tx.Exec(ctx, "SET LOCAL session_replication_role = replica")
	if _, err := tx.Exec(ctx, "UPDATE audit_entries SET actor = 'mallory' WHERE seq = 1"); err != nil {
		t.Fatal(err)
	}
	tx.Commit(ctx)
	r = tr.run(t, env, "audit", "verify")
	if r.code != 1 || !regexp.MustCompile(`first bad entry 1\b`).MatchString(r.stdout) {
		t.Fatalf("audit verify after tampering: exit %d, %q", r.code, r.stdout)
	}
	assertNoPersonalData(t, tr.String(), records)
}

func TestDevServesAndWritesSamples(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(binary, "dev", "--records", "3000", "--seed", "2", "--addr", "127.0.0.1:0", "--state-dir", dir)
	stdout, _ := cmd.StdoutPipe()
	var logs bytes.Buffer
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	var printed strings.Builder
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			printed.WriteString(sc.Text() + "\n")
			if m := regexp.MustCompile(`listening on (http://\S+)`).FindStringSubmatch(sc.Text()); m != nil {
				addr <- m[1]
			}
		}
	}()
	var base string
	select {
	case base = <-addr:
	case <-time.After(60 * time.Second):
		t.Fatal("dev did not start listening")
	}
	for _, p := range []string{"/healthz", "/readyz"} {
		resp, err := http.Get(base + p)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("GET %s: %v %v", p, err, resp)
		}
		resp.Body.Close()
	}
	resp, err := http.Get(base + "/no-such-route")
	if err != nil || resp.StatusCode != 404 || resp.Header.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("unknown route: %v %+v", err, resp)
	}
	resp.Body.Close()

	var samples struct {
		Records       []registry.Record `json:"records"`
		AgencyPurpose string            `json:"agency_purpose"`
	}
	b, err := os.ReadFile(filepath.Join(dir, "samples.json"))
	if err != nil || json.Unmarshal(b, &samples) != nil {
		t.Fatalf("samples.json: %v", err)
	}
	revoked := 0
	for _, r := range samples.Records {
		if r.IDNumber == "" || r.CertificateNumber == "" || r.Name == "" {
			t.Error("a sample lacks a record field")
		}
		if r.Status == registry.StatusRevoked {
			revoked++
		}
	}
	if len(samples.Records) < 2 || revoked != 1 || samples.AgencyPurpose == "" {
		t.Errorf("samples: %d records, %d revoked, purpose %q", len(samples.Records), revoked, samples.AgencyPurpose)
	}

	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("dev exited with %v after SIGTERM", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("dev did not stop on SIGTERM")
	}
	assertNoPersonalData(t, printed.String()+logs.String(), samples.Records)
}

// TestDevKeepsItsIssuerAcrossRuns: a second dev on the same --state-dir
// signs with the dev issuer key of the first, so tokens and scripts made
// against the first keep working (issue 16, item 19).
func TestDevKeepsItsIssuerAcrossRuns(t *testing.T) {
	dir := t.TempDir()
	_, stop := startDev(t, dir)
	key1, _ := os.ReadFile(filepath.Join(dir, "dev-issuer.jwk"))
	holder := devTokens(t, dir)["holder"]
	stop()
	base, _ := startDev(t, dir)
	key2, _ := os.ReadFile(filepath.Join(dir, "dev-issuer.jwk"))
	if len(key1) == 0 || string(key1) != string(key2) {
		t.Fatal("the second dev made a new issuer key")
	}
	req, _ := http.NewRequest("GET", base+"/v1/holder/degrees", nil)
	req.Header.Set("Authorization", "Bearer "+holder)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("the first run's holder token on the second run: %d", resp.StatusCode)
	}
}
