package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/degreegate/degreegate/registry"
	"github.com/degreegate/degreegate/registry/archive"
	"github.com/degreegate/degreegate/registry/postgres"
)

// TestAuditArchiveAcrossYears: a trail with entries from 2015 and from
// today; `audit archive` moves those past the policy's retention (120
// months) into an archive with the newest checkpoint and its proof and
// removes them from the database; `audit verify` then needs the
// archives, checks them and the database as one trail against the
// checkpoints, and names an archived entry that was rewritten.
func TestAuditArchiveAcrossYears(t *testing.T) {
	dbURL, conn := testDatabase(t)
	ctx := context.Background()
	var tr transcript
	dir := t.TempDir()
	keys, checkpoints, archives := filepath.Join(dir, "keys"), filepath.Join(dir, "checkpoints"), filepath.Join(dir, "archives")
	env := []string{"DATABASE_URL=" + dbURL, "DEGREEGATE_KEYS_DIR=" + keys, "DEGREEGATE_CHECKPOINTS_DIR=" + checkpoints}
	for _, args := range [][]string{{"keys", "init"}, {"migrate"}} {
		if r := tr.run(t, env, args...); r.code != 0 {
			t.Fatalf("%v: exit %d %s %s", args, r.code, r.stdout, r.stderr)
		}
	}
	store, err := postgres.Open(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	leaf, err := registry.LoadLogKey(keys, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	trail := registry.Committing{AuditLog: store, Key: leaf}
	// 240 entries a week apart from 2015, then 40 of today.
	var old []registry.AuditEntry
	for i := range 240 {
		old = append(old, registry.AuditEntry{At: time.Date(2015, 1, 1, 9, 0, 0, 0, time.UTC).AddDate(0, 0, 7*i),
			Actor: "org:gov:a/sub:1", Action: "verify.agency", RecordRef: fmt.Sprintf("10%014d", i), Purpose: "employment_background_check", Detail: `{"result":"match"}`})
	}
	var recent []registry.AuditEntry
	for i := range 40 {
		recent = append(recent, registry.AuditEntry{At: time.Now(), Actor: "public:X", Action: "verify.public", RecordRef: fmt.Sprintf("20%014d", i), Purpose: "public_verification"})
	}
	for _, batch := range [][]registry.AuditEntry{old[:100], old[100:], recent} {
		if err := trail.AppendAudit(ctx, batch); err != nil {
			t.Fatal(err)
		}
	}
	signer, err := registry.LoadLogSigner(keys)
	if err != nil {
		t.Fatal(err)
	}
	v, _, err := registry.LoadLogVerifier(filepath.Join(keys, registry.LogVerifierFile))
	if err != nil {
		t.Fatal(err)
	}
	cp, err := registry.NewCheckpointer(store, signer, v, checkpoints, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cp.Sign(ctx); err != nil {
		t.Fatal(err)
	}

	// Retention 120 months: everything before the first of the month ten
	// years ago goes; 2015–2016 is older than that.
	cut := time.Now().UTC().AddDate(-10, 0, 0)
	cutoff := time.Date(cut.Year(), cut.Month(), 1, 0, 0, 0, 0, time.UTC)
	want := int64(0)
	for _, e := range old {
		if e.At.Before(cutoff) {
			want++
		}
	}
	r := tr.run(t, env, "audit", "archive", "--out", archives)
	if r.code != 0 || !strings.Contains(r.stdout, fmt.Sprintf("archived audit entries 1–%d", want)) {
		t.Fatalf("audit archive: exit %d %s %s (want entries 1–%d)", r.code, r.stdout, r.stderr, want)
	}
	var held int64
	conn.QueryRow(ctx, `SELECT count(*) FROM audit_entries`).Scan(&held)
	if held != 280-want {
		t.Fatalf("the database holds %d entries after archiving %d of 280", held, want)
	}
	if r := tr.run(t, env, "audit", "archive", "--out", archives); r.code != 0 || !strings.Contains(r.stdout, "nothing to archive") {
		t.Fatalf("a second archive: exit %d %s %s", r.code, r.stdout, r.stderr)
	}
	if r := tr.run(t, env, "audit", "verify"); r.code == 0 || !strings.Contains(r.stderr, "--archives") {
		t.Fatalf("audit verify without the archives: exit %d %s %s", r.code, r.stdout, r.stderr)
	}
	if r := tr.run(t, env, "audit", "verify", "--archives", archives, "--checkpoint", checkpoints); r.code != 0 || !strings.Contains(r.stdout, "280 entries") {
		t.Fatalf("audit verify --archives: exit %d %s %s", r.code, r.stdout, r.stderr)
	}
	// Removing entries goes through the archive function only.
	_, err = conn.Exec(ctx, `DELETE FROM audit_entries WHERE seq = 300`)
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "42501" {
		t.Errorf("a plain DELETE: %v, want insufficient_privilege", err)
	}

	// An archived entry rewritten, the archive's SHA-256 updated to
	// match: the chain, or the log, says so.
	name := archive.Name(1, want)
	entries := filepath.Join(archives, name+".jsonl.gz")
	orig, err := os.ReadFile(entries)
	if err != nil {
		t.Fatal(err)
	}
	manifest, _ := os.ReadFile(filepath.Join(archives, name+".json"))
	rewrite := func(edit func(*registry.AuditEntry), relink bool) {
		zr, err := gzip.NewReader(bytes.NewReader(orig))
		if err != nil {
			t.Fatal(err)
		}
		plain, _ := io.ReadAll(zr)
		var out bytes.Buffer
		zw := gzip.NewWriter(&out)
		head := registry.ChainHead{Hash: registry.GenesisHash}
		for i, line := range bytes.Split(bytes.TrimSpace(plain), []byte("\n")) {
			var e registry.AuditEntry
			if err := json.Unmarshal(line, &e); err != nil {
				t.Fatal(err)
			}
			if i == 7 {
				edit(&e)
			}
			if relink {
				head = registry.Link(head, &e)
			}
			b, _ := json.Marshal(&e)
			zw.Write(append(b, '\n'))
		}
		zw.Close()
		os.WriteFile(entries, out.Bytes(), 0o600)
		sum := sha256.Sum256(out.Bytes())
		var m map[string]any
		json.Unmarshal(manifest, &m)
		m["sha256"] = hex.EncodeToString(sum[:])
		b, _ := json.Marshal(m)
		os.WriteFile(filepath.Join(archives, name+".json"), b, 0o600)
	}
	for _, tc := range []struct {
		name   string
		relink bool
		output string
	}{
		{"an archived entry's purpose rewritten", false, "first bad entry 8: content does not match its hash"},
		// The archive re-chained from there: its last entry no longer
		// links to the database's first.
		{"and the archive re-chained", true, fmt.Sprintf("first bad entry %d: does not link to the entry before it", want+1)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rewrite(func(e *registry.AuditEntry) { e.Purpose = "degree_administration" }, tc.relink)
			r := tr.run(t, env, "audit", "verify", "--archives", archives, "--checkpoint", checkpoints)
			if r.code != 1 || !strings.Contains(r.stdout, "TAMPERED") || !strings.Contains(r.stdout, tc.output) {
				t.Fatalf("audit verify: exit %d %s %s, want %q", r.code, r.stdout, r.stderr, tc.output)
			}
		})
	}
	// The entries file changed behind its manifest's back.
	os.WriteFile(filepath.Join(archives, name+".json"), manifest, 0o600)
	r = tr.run(t, env, "audit", "verify", "--archives", archives)
	if r.code != 1 || !strings.Contains(r.stdout, "does not have the SHA-256 its manifest names") {
		t.Fatalf("audit verify with a changed entries file: exit %d %s %s", r.code, r.stdout, r.stderr)
	}
	os.WriteFile(entries, orig, 0o600)
	// A missing archive.
	os.Rename(filepath.Join(archives, name+".json"), filepath.Join(dir, "moved.json"))
	if r := tr.run(t, env, "audit", "verify", "--archives", archives); r.code != 1 || !strings.Contains(r.stdout, fmt.Sprintf("the database moved entries 1–%d to archives, the folder holds entries 1–0", want)) {
		t.Fatalf("audit verify with the archive gone: exit %d %s %s", r.code, r.stdout, r.stderr)
	}
	os.Rename(filepath.Join(dir, "moved.json"), filepath.Join(archives, name+".json"))
	if r := tr.run(t, env, "audit", "verify", "--archives", archives, "--checkpoint", checkpoints); r.code != 0 {
		t.Fatalf("audit verify after restoring the archive: exit %d %s %s", r.code, r.stdout, r.stderr)
	}
}
