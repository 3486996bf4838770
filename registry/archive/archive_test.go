package archive

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/degreegate/degreegate/registry"
	"github.com/degreegate/degreegate/registry/inmem"
	"github.com/degreegate/degreegate/translog"
)

// fixture is a trail of n entries in memory, with a signed checkpoint
// of all of them.
func fixture(t testing.TB, n int) (*inmem.Store, *registry.LogKey, *translog.Verifier, []byte) {
	t.Helper()
	ctx := context.Background()
	store := inmem.New()
	key := registry.NewRandomLogKey()
	var es []registry.AuditEntry
	for i := range n {
		es = append(es, registry.AuditEntry{At: time.Date(2015, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Hour),
			Actor: "org:a", Action: "verify.agency", RecordRef: fmt.Sprint(i), Purpose: "p", Detail: `{"result":"match"}`})
	}
	if err := (registry.Committing{AuditLog: store, Key: key}).AppendAudit(ctx, es); err != nil {
		t.Fatal(err)
	}
	skey, vkey, err := translog.GenerateKey("test/log")
	if err != nil {
		t.Fatal(err)
	}
	s, _ := translog.NewSigner(skey)
	v, _ := translog.NewVerifier(vkey)
	head, _ := store.AuditHead(ctx)
	note, err := s.Sign(head.LogSize, head.LogRoot)
	if err != nil {
		t.Fatal(err)
	}
	return store, key, v, note
}

func TestWriteLoadVerify(t *testing.T) {
	ctx := context.Background()
	store, key, v, note := fixture(t, 100)
	dir := t.TempDir()
	for _, r := range [][2]int64{{1, 30}, {31, 64}} {
		if _, _, err := Write(ctx, dir, store, r[0], r[1], time.Now(), note, v); err != nil {
			t.Fatal(err)
		}
	}
	as, err := Load(dir, v)
	if err != nil || len(as) != 2 {
		t.Fatalf("Load: %d archives, %v", len(as), err)
	}
	var cps []translog.Checkpoint
	for _, a := range as {
		cps = append(cps, a.Checkpoints()...)
	}
	var seen []int64
	trail := Trail{AuditLog: store, Archives: as}
	if err := trail.ScanAudit(ctx, 20, func(e registry.AuditEntry) error { seen = append(seen, e.Seq); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(seen) != 81 || seen[0] != 20 || seen[80] != 100 {
		t.Fatalf("ScanAudit from 20 gave %d entries, %v…", len(seen), seen[:min(3, len(seen))])
	}
	if n, err := registry.VerifyTrail(ctx, trail, nil, key, cps); err != nil || n != 100 {
		t.Fatalf("VerifyTrail across archives: %d, %v", n, err)
	}
	// An archive missing from the folder.
	os.Remove(filepath.Join(dir, Name(1, 30)+".json"))
	if _, err := Load(dir, v); err == nil || !strings.Contains(err.Error(), "an archive is missing") {
		t.Errorf("Load without the first archive: %v", err)
	}
}

func TestWriteRefuses(t *testing.T) {
	ctx := context.Background()
	store, _, v, note := fixture(t, 10)
	for _, tc := range []struct {
		name        string
		first, last int64
		note        []byte
	}{
		{"beyond the checkpoint", 1, 11, note},
		{"backwards", 5, 4, note},
		{"from zero", 0, 4, note},
		{"an unsigned checkpoint", 1, 4, []byte("test/log\n10\nAAAA\n")},
	} {
		if _, _, err := Write(ctx, t.TempDir(), store, tc.first, tc.last, time.Now(), tc.note, v); err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
}

// FuzzLoad: a manifest is outside input to audit verify; whatever it
// holds, Load answers an error or archives, never a panic.
func FuzzLoad(f *testing.F) {
	store, _, v, note := fixture(f, 10)
	dir := f.TempDir()
	if _, _, err := Write(context.Background(), dir, store, 1, 5, time.Now(), note, v); err != nil {
		f.Fatal(err)
	}
	good, _ := os.ReadFile(filepath.Join(dir, Name(1, 5)+".json"))
	f.Add(good)
	f.Add([]byte(`{"format":"degreegate-audit-archive/v1","first_seq":1,"last_seq":5,"entries":"audit-1-5.jsonl.gz","tree_root":"","consistency":["x"]}`))
	f.Add([]byte(`{"first_seq":-1,"last_seq":9223372036854775807}`))
	entries, _ := os.ReadFile(filepath.Join(dir, Name(1, 5)+".jsonl.gz"))
	f.Fuzz(func(t *testing.T, manifest []byte) {
		d := t.TempDir()
		os.WriteFile(filepath.Join(d, Name(1, 5)+".jsonl.gz"), entries, 0o600)
		os.WriteFile(filepath.Join(d, Name(1, 5)+".json"), manifest, 0o600)
		as, err := Load(d, v)
		if err == nil {
			for _, a := range as {
				a.Scan(1, func(registry.AuditEntry) error { return nil })
			}
		}
	})
}
