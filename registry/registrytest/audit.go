package registrytest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/degreegate/degreegate/registry"
)

type auditTest struct {
	name string
	fn   func(t *testing.T, a registry.AuditLog)
}

func runAudit(t *testing.T, open func(t *testing.T) Backend) {
	tests := []auditTest{
		{"EmptyTrail", testAuditEmpty},
		{"AppendLinks", testAuditAppendLinks},
		{"ScanFrom", testAuditScanFrom},
		{"ScanStopsAtError", testAuditScanStops},
		{"VerifyLongTrail", testAuditVerifyLong},
		{"ConcurrentAppenders", testAuditConcurrent},
		{"RoundTrip", testAuditRoundTrip},
		{"CopiesInAndOut", testAuditCopies},
		{"EmptyBatch", testAuditEmptyBatch},
		{"CancelledContext", testAuditCancelled},
		{"RefusesUnstorableText", testAuditUnstorable},
		{"LogFollowsTrail", testLogFollowsTrail},
		{"LogProofs", testLogProofs},
		{"LogUnderConcurrentAppenders", testLogConcurrent},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := open(t)
			if b.Audit == nil {
				t.Fatal("open returned a Backend without an AuditLog")
			}
			tc.fn(t, committing(b.Audit))
		})
	}
	t.Run("RefusesUncommitted", func(t *testing.T) { testAuditUncommitted(t, open(t).Audit) })
}

// auditEntries returns n unlinked entries, tagged so that each can be
// told apart.
func auditEntries(tag string, n int) []registry.AuditEntry {
	out := make([]registry.AuditEntry, n)
	for i := range out {
		out[i] = registry.AuditEntry{
			At:        time.Date(2025, 3, 4, 10, 0, i%60, 987_654_321, cst),
			Actor:     "agency:人社局-" + tag,
			Action:    "verify",
			RecordRef: fmt.Sprintf("%s-%d", tag, i),
			Purpose:   "招聘核验",
			Detail:    fmt.Sprintf(`{"fields":["name","degree_level"],"n":%d}`, i),
		}
	}
	return out
}

func mustAppendAudit(t *testing.T, a registry.AuditLog, entries []registry.AuditEntry) {
	t.Helper()
	if err := a.AppendAudit(t.Context(), entries); err != nil {
		t.Fatalf("AppendAudit of %d entries: %v", len(entries), err)
	}
}

func scanAudit(t *testing.T, a registry.AuditLog, from int64) []registry.AuditEntry {
	t.Helper()
	var out []registry.AuditEntry
	if err := a.ScanAudit(t.Context(), from, func(e registry.AuditEntry) error {
		out = append(out, e)
		return nil
	}); err != nil {
		t.Fatalf("ScanAudit(%d): %v", from, err)
	}
	return out
}

func mustHead(t *testing.T, a registry.AuditLog) registry.ChainHead {
	t.Helper()
	h, err := a.AuditHead(t.Context())
	if err != nil {
		t.Fatalf("AuditHead: %v", err)
	}
	return h
}

func mustVerify(t *testing.T, a registry.AuditLog, want int64) {
	t.Helper()
	n, err := registry.VerifyChain(t.Context(), a)
	if err != nil {
		t.Fatalf("VerifyChain of an untampered trail: %v", err)
	}
	if n != want {
		t.Errorf("VerifyChain checked %d entries, want %d", n, want)
	}
}

func testAuditEmpty(t *testing.T, a registry.AuditLog) {
	h := mustHead(t, a)
	if h.Seq != 0 || !bytes.Equal(h.Hash, registry.GenesisHash) {
		t.Errorf("AuditHead of an empty trail = {%d %x}, want {0 GenesisHash}", h.Seq, h.Hash)
	}
	if got := scanAudit(t, a, 1); len(got) != 0 {
		t.Errorf("ScanAudit of an empty trail returned %d entries", len(got))
	}
	mustVerify(t, a, 0)
}

func testAuditAppendLinks(t *testing.T, a registry.AuditLog) {
	batches := [][]registry.AuditEntry{auditEntries("a", 3), auditEntries("b", 1), auditEntries("c", 4)}
	// The expectation is built with registry.Link on copies, the way the
	// contract defines the chain.
	var want []registry.AuditEntry
	head := registry.ChainHead{Hash: registry.GenesisHash}
	for _, b := range batches {
		for _, e := range b {
			head = registry.Link(head, &e)
			want = append(want, e)
		}
	}
	k := 0
	for _, b := range batches {
		mustAppendAudit(t, a, b)
		// AppendAudit sets Seq, PrevHash and Hash on the caller's entries.
		for i := range b {
			for _, d := range diffAudit(b[i], want[k]) {
				t.Errorf("caller's entry %d after AppendAudit: %s", k+1, d)
			}
			k++
		}
	}
	got := scanAudit(t, a, 1)
	if len(got) != len(want) {
		t.Fatalf("ScanAudit returned %d entries, want %d", len(got), len(want))
	}
	for i := range want {
		for _, d := range diffAudit(got[i], want[i]) {
			t.Errorf("stored entry %d: %s", i+1, d)
		}
	}
	h := mustHead(t, a)
	if h.Seq != head.Seq || !bytes.Equal(h.Hash, head.Hash) {
		t.Errorf("AuditHead = {%d %x}, want {%d %x}", h.Seq, h.Hash, head.Seq, head.Hash)
	}
	mustVerify(t, a, int64(len(want)))
}

func testAuditScanFrom(t *testing.T, a registry.AuditLog) {
	const n = 10
	mustAppendAudit(t, a, auditEntries("s", n))
	for _, tc := range []struct {
		from        int64
		first, last int64 // 0, 0: nothing
	}{
		{1, 1, n}, {0, 1, n}, {-3, 1, n}, {4, 4, n}, {n, n, n}, {n + 1, 0, 0}, {1 << 40, 0, 0},
	} {
		got := scanAudit(t, a, tc.from)
		var want []int64
		for s := tc.first; tc.first > 0 && s <= tc.last; s++ {
			want = append(want, s)
		}
		var seqs []int64
		for _, e := range got {
			seqs = append(seqs, e.Seq)
		}
		if fmt.Sprint(seqs) != fmt.Sprint(want) {
			t.Errorf("ScanAudit(%d) returned seqs %v, want %v", tc.from, seqs, want)
		}
	}
}

func testAuditScanStops(t *testing.T, a registry.AuditLog) {
	mustAppendAudit(t, a, auditEntries("x", 6))
	stop := errors.New("enough")
	calls := 0
	err := a.ScanAudit(t.Context(), 1, func(registry.AuditEntry) error {
		calls++
		if calls == 2 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) {
		t.Errorf("ScanAudit returned %v, want fn's error", err)
	}
	if calls != 2 {
		t.Errorf("fn called %d times, want 2", calls)
	}
}

func testAuditVerifyLong(t *testing.T, a registry.AuditLog) {
	const total = 3000
	sizes := []int{1, 7, 500, 2, 100, 999, 13}
	written := 0
	for k := 0; written < total; k++ {
		n := min(sizes[k%len(sizes)], total-written)
		mustAppendAudit(t, a, auditEntries(strconv.Itoa(k), n))
		written += n
	}
	mustVerify(t, a, total)
	if h := mustHead(t, a); h.Seq != total {
		t.Errorf("AuditHead.Seq = %d, want %d", h.Seq, total)
	}
}

// testAuditConcurrent: appenders racing for the head still form one
// gap-free chain, and each batch occupies consecutive sequence numbers.
func testAuditConcurrent(t *testing.T, a registry.AuditLog) {
	const workers, batches, size = 8, 12, 10
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for b := range batches {
				if err := a.AppendAudit(t.Context(), auditEntries(fmt.Sprintf("w%d/b%d", w, b), size)); err != nil {
					errs[w] = err
					return
				}
			}
		})
	}
	wg.Wait()
	for w, err := range errs {
		if err != nil {
			t.Fatalf("worker %d: AppendAudit: %v", w, err)
		}
	}
	mustVerify(t, a, workers*batches*size)
	got := scanAudit(t, a, 1)
	firstSeq := make(map[string]int64) // batch tag → seq of its entry 0
	for _, e := range got {
		tag, idx, ok := cutLast(e.RecordRef)
		if !ok {
			t.Fatalf("entry %d: unexpected RecordRef %q", e.Seq, e.RecordRef)
		}
		if idx == 0 {
			firstSeq[tag] = e.Seq
			continue
		}
		if s, ok := firstSeq[tag]; !ok || e.Seq != s+int64(idx) {
			t.Errorf("entry %d of batch %s has seq %d: the batch was interleaved with another", idx, tag, e.Seq)
		}
	}
	if len(firstSeq) != workers*batches {
		t.Errorf("found %d batches, want %d", len(firstSeq), workers*batches)
	}
}

// cutLast splits "tag-7" into "tag" and 7.
func cutLast(ref string) (string, int, bool) {
	i := len(ref) - 1
	for i >= 0 && ref[i] != '-' {
		i--
	}
	if i < 0 {
		return "", 0, false
	}
	n, err := strconv.Atoi(ref[i+1:])
	return ref[:i], n, err == nil
}

func testAuditRoundTrip(t *testing.T, a registry.AuditLog) {
	entries := []registry.AuditEntry{
		{
			At:        time.Date(2025, 12, 31, 23, 59, 59, 999_999_999, cst), // the next day in UTC, cut not rounded
			Actor:     "office:国务院学位委员会办公室/张三·李",
			Action:    "dataset.approve",
			RecordRef: "ds-数据集-001",
			Purpose:   "统计分析 (Art. 23) — 🎓",
			// Key order and spacing are kept byte for byte: the hash covers them.
			Detail: `{"z": 1,  "a":"学位", "nested":{"k":[3,2,1]}}`,
		},
		{At: time.Date(2025, 1, 1, 0, 0, 0, 1_000, time.UTC), Actor: "public:hmac-3f2a", Action: "verify"},
		{At: time.Date(2025, 1, 1, 0, 0, 0, 999, time.UTC), Actor: "", Action: "", Detail: `"a string"`},
	}
	want := make([]registry.AuditEntry, len(entries))
	head := registry.ChainHead{Hash: registry.GenesisHash}
	for i, e := range entries {
		head = registry.Link(head, &e)
		want[i] = e
	}
	mustAppendAudit(t, a, entries)
	got := scanAudit(t, a, 1)
	if len(got) != len(want) {
		t.Fatalf("ScanAudit returned %d entries, want %d", len(got), len(want))
	}
	for i := range want {
		for _, d := range diffAudit(got[i], want[i]) {
			t.Errorf("entry %d: %s", i+1, d)
		}
	}
	mustVerify(t, a, int64(len(want)))
}

func testAuditCopies(t *testing.T, a registry.AuditLog) {
	entries := auditEntries("copy", 3)
	mustAppendAudit(t, a, entries)
	for i := range entries {
		entries[i].Hash[0] ^= 0xff
		entries[i].PrevHash[0] ^= 0xff
		entries[i].Detail = "changed"
	}
	for _, e := range scanAudit(t, a, 1) {
		e.Hash[0] ^= 0xff
		e.PrevHash[0] ^= 0xff
	}
	h := mustHead(t, a)
	h.Hash[0] ^= 0xff
	mustVerify(t, a, 3)
}

func testAuditEmptyBatch(t *testing.T, a registry.AuditLog) {
	mustAppendAudit(t, a, auditEntries("e", 2))
	before := mustHead(t, a)
	if err := a.AppendAudit(t.Context(), nil); err != nil {
		t.Errorf("AppendAudit(nil): %v", err)
	}
	after := mustHead(t, a)
	if after.Seq != before.Seq || !bytes.Equal(after.Hash, before.Hash) {
		t.Errorf("AppendAudit(nil) moved the head from %d to %d", before.Seq, after.Seq)
	}
	mustVerify(t, a, 2)
}

// testAuditUnstorable: a batch holding text no store can keep (NUL,
// invalid UTF-8) is refused whole with ErrAuditUnstorable, in every store
// alike, and the trail stays as it was.
func testAuditUnstorable(t *testing.T, a registry.AuditLog) {
	mustAppendAudit(t, a, auditEntries("ok", 2))
	before := mustHead(t, a)
	for _, bad := range []func(*registry.AuditEntry){
		func(e *registry.AuditEntry) { e.Detail = "{\"note\":\"a\x00b\"}" },
		func(e *registry.AuditEntry) { e.Actor = "public:\xff\xfe" },
		func(e *registry.AuditEntry) { e.RecordRef = "\x00" },
		func(e *registry.AuditEntry) { e.Purpose = "bad \xc3" },
	} {
		batch := auditEntries("mixed", 3)
		bad(&batch[1])
		err := a.AppendAudit(t.Context(), batch)
		if !errors.Is(err, registry.ErrAuditUnstorable) {
			t.Errorf("AppendAudit with unstorable text: %v, want ErrAuditUnstorable", err)
		}
		if after := mustHead(t, a); after.Seq != before.Seq || !bytes.Equal(after.Hash, before.Hash) {
			t.Fatalf("a refused batch moved the head from %d to %d", before.Seq, after.Seq)
		}
	}
	mustAppendAudit(t, a, auditEntries("after", 1))
	mustVerify(t, a, 3)
}

func testAuditCancelled(t *testing.T, a registry.AuditLog) {
	mustAppendAudit(t, a, auditEntries("c", 2))
	before := mustHead(t, a)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := a.AppendAudit(ctx, auditEntries("late", 5)); err == nil {
		t.Error("AppendAudit with a cancelled context: no error")
	}
	if err := a.ScanAudit(ctx, 1, func(registry.AuditEntry) error { return nil }); err == nil {
		t.Error("ScanAudit with a cancelled context: no error")
	}
	if _, err := a.AuditHead(ctx); err == nil {
		t.Error("AuditHead with a cancelled context: no error")
	}
	after := mustHead(t, a)
	if after.Seq != before.Seq || !bytes.Equal(after.Hash, before.Hash) {
		t.Errorf("a cancelled AppendAudit moved the head from %d to %d", before.Seq, after.Seq)
	}
	if got := scanAudit(t, a, 1); len(got) != 2 {
		t.Errorf("a cancelled AppendAudit left %d entries, want 2", len(got))
	}
	mustVerify(t, a, 2)
}
