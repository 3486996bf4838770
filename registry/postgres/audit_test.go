package postgres

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/degreegate/degreegate/registry"
	"github.com/degreegate/degreegate/translog"
)

func auditEntries(n int, actor string) []registry.AuditEntry {
	out := make([]registry.AuditEntry, n)
	for i := range out {
		out[i] = registry.AuditEntry{
			At:        time.Now(),
			Actor:     actor,
			Action:    "verify",
			RecordRef: fmt.Sprintf("ref-%d", i),
			Purpose:   "employment check",
			Detail:    fmt.Sprintf(`{"fields":["name","status"],"n":%d}`, i),
		}
	}
	return committed(out)
}

// testLogKey commits the entries these tests append to the store
// directly, as registry.Committing does for a gateway.
var testLogKey = registry.NewRandomLogKey()

func committed(entries []registry.AuditEntry) []registry.AuditEntry {
	for i := range entries {
		testLogKey.Commit(&entries[i])
	}
	return entries
}

// TestAuditConcurrentProcesses: two pools on one schema stand for two
// replicas; several goroutines in each append batches at once. The head
// lock must make one linear chain of every entry.
func TestAuditConcurrentProcesses(t *testing.T) {
	first, u := newStore(t)
	t.Parallel()
	second, err := Open(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	const (
		goroutines = 4
		batches    = 15
	)
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		total int64
	)
	for p, s := range []*Store{first, second} {
		for g := range goroutines {
			wg.Go(func() {
				for b := range batches {
					n := 1 + (g+b)%3
					if err := s.AppendAudit(context.Background(), auditEntries(n, fmt.Sprintf("p%d-g%d", p, g))); err != nil {
						t.Errorf("process %d goroutine %d: AppendAudit: %v", p, g, err)
						return
					}
					mu.Lock()
					total += int64(n)
					mu.Unlock()
				}
			})
		}
	}
	wg.Wait()
	n, err := registry.VerifyChain(context.Background(), second)
	if err != nil || n != total {
		t.Errorf("VerifyChain = %d, %v; want %d entries, nil", n, err, total)
	}
}

// TestAuditTamper alters the stored trail behind the store's back, with
// the append-only triggers bypassed as a database superuser could, and
// expects VerifyChain to name the first entry that no longer fits.
func TestAuditTamper(t *testing.T) {
	testDatabaseURL(t)
	t.Parallel()
	const n = 10
	for _, tc := range []struct {
		name   string
		tamper string
		want   int64
	}{
		{"alter an actor", `UPDATE audit_entries SET actor = 'someone else' WHERE seq = 5`, 5},
		{"alter a time", `UPDATE audit_entries SET at = at + interval '1 microsecond' WHERE seq = 8`, 8},
		{"delete a middle entry", `DELETE FROM audit_entries WHERE seq = 5`, 5},
		{"delete the first entry", `DELETE FROM audit_entries WHERE seq = 1`, 1},
		{"delete the last entry, head unchanged", `DELETE FROM audit_entries WHERE seq = 10`, 10},
		{"swap two entries' contents", `UPDATE audit_entries a SET at = b.at, actor = b.actor, action = b.action,
			record_ref = b.record_ref, purpose = b.purpose, detail = b.detail, prev_hash = b.prev_hash, hash = b.hash
			FROM audit_entries b WHERE (a.seq, b.seq) IN ((3, 7), (7, 3))`, 3},
		{"renumber an entry", `UPDATE audit_entries SET seq = 100 WHERE seq = 6`, 6},
		{"re-hash an altered entry", `UPDATE audit_entries SET detail = '{}', hash = sha256(hash) WHERE seq = 4`, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, u := newStore(t)
			ctx := context.Background()
			if err := s.AppendAudit(ctx, auditEntries(n, "agency:test")); err != nil {
				t.Fatal(err)
			}
			if got, err := registry.VerifyChain(ctx, s); err != nil || got != n {
				t.Fatalf("VerifyChain before tampering = %d, %v", got, err)
			}
			admin := adminConn(t, u)
			mustExec(t, admin, "SET session_replication_role = replica")
			mustExec(t, admin, tc.tamper)
			_, err := registry.VerifyChain(ctx, s)
			var ce *registry.ChainError
			if !errors.As(err, &ce) {
				t.Fatalf("VerifyChain after tampering: err = %v, want a *registry.ChainError", err)
			}
			if ce.Seq != tc.want {
				t.Errorf("VerifyChain names entry %d (%v), want %d", ce.Seq, err, tc.want)
			}
		})
	}
}

// TestAuditAppendPipelineIsOneTransaction: AppendAudit's pipeline (lock
// the head, insert, move the head) relies on PostgreSQL running a
// pipeline without BEGIN as one implicit transaction. Here the move is
// refused by the head's trigger after the insert succeeded: the entry
// must be gone with it.
func TestAuditAppendPipelineIsOneTransaction(t *testing.T) {
	s, url := newStore(t)
	ctx := context.Background()
	if err := s.AppendAudit(ctx, auditEntries(2, "first")); err != nil {
		t.Fatal(err)
	}
	head, err := s.AuditHead(ctx)
	if err != nil {
		t.Fatal(err)
	}
	edge, err := translog.LoadEdge(ctx, registry.LogHashes{Log: s}, head.LogSize)
	if err != nil {
		t.Fatal(err)
	}
	refused := auditEntries(1, "refused")
	leaves, _ := registry.LeafHashes(refused)
	b, _, _, err := appendBatch(head, edge, refused, leaves)
	if err != nil {
		t.Fatal(err)
	}
	// The last statement moves the head; make it name a hash no entry has.
	last := b.QueuedQueries[len(b.QueuedQueries)-1]
	last.Arguments[1] = make([]byte, 32)
	if err := s.pool.SendBatch(ctx, b).Close(); err == nil {
		t.Fatal("the head moved onto a hash no entry has")
	}
	var n int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM audit_entries`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Fatalf("%d entries after a refused pipeline, want the 2 before it: the insert outlived the failed move", n)
	}
	// A Store that saw the head before someone else moved it appends by
	// the locked path and the chain stays one.
	other, err := Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if err := other.AppendAudit(ctx, auditEntries(3, "other")); err != nil {
		t.Fatal(err)
	}
	if err := s.AppendAudit(ctx, auditEntries(1, "stale")); err != nil {
		t.Fatalf("append with a stale head: %v", err)
	}
	if got, err := registry.VerifyChain(ctx, s); err != nil || got != 6 {
		t.Fatalf("chain: %d entries, %v; want 6 intact", got, err)
	}
}

// TestAuditSearchMapsOnlyWiden: audit_hours and audit_purposes bound
// searches, so a narrowed or deleted row would hide entries from them:
// both refuse it, even to the table's owner, while inserts keep widening
// them.
func TestAuditSearchMapsOnlyWiden(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	if err := s.AppendAudit(ctx, auditEntries(3, "first")); err != nil {
		t.Fatal(err)
	}
	for _, sql := range []string{
		`UPDATE audit_purposes SET min_seq = min_seq + 1`,
		`UPDATE audit_purposes SET max_seq = max_seq - 1 WHERE max_seq > min_seq`,
		`UPDATE audit_purposes SET purpose = 'other'`,
		`DELETE FROM audit_purposes`,
		`TRUNCATE audit_purposes`,
		`UPDATE audit_hours SET min_seq = min_seq + 1`,
		`DELETE FROM audit_hours`,
	} {
		if _, err := s.pool.Exec(ctx, sql); err == nil {
			t.Errorf("%s: allowed", sql)
		}
	}
	if err := s.AppendAudit(ctx, auditEntries(2, "second")); err != nil {
		t.Fatal(err)
	}
	var lo, hi int64
	if err := s.pool.QueryRow(ctx, `SELECT min_seq, max_seq FROM audit_purposes WHERE purpose = 'employment check'`).Scan(&lo, &hi); err != nil || lo != 1 || hi != 5 {
		t.Errorf("the purpose's range after two appends: %d–%d (%v), want 1–5", lo, hi, err)
	}
}
