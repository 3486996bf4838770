package inmem

import (
	"errors"
	"testing"

	"github.com/degreegate/degreegate/registry"
	"github.com/degreegate/degreegate/registry/registrytest"
)

func TestContract(t *testing.T) {
	registrytest.Run(t, func(t *testing.T) registrytest.Backend {
		s := New()
		return registrytest.Backend{Store: s, Audit: s, Datasets: NewDatasets()}
	})
}

// trail returns a store whose audit trail holds n linked entries.
func trail(t *testing.T, n int) *Store {
	t.Helper()
	s := New()
	entries := make([]registry.AuditEntry, n)
	for i := range entries {
		entries[i] = registry.AuditEntry{Actor: "office:test", Action: "verify", RecordRef: "ref", Detail: `{"i":1}`}
	}
	if err := logged(s).AppendAudit(t.Context(), entries); err != nil {
		t.Fatalf("AppendAudit: %v", err)
	}
	return s
}

func entryAt(t *testing.T, s *Store, seq int64) registry.AuditEntry {
	t.Helper()
	var found *registry.AuditEntry
	s.TamperAudit(seq, func(e *registry.AuditEntry) { c := *e; found = &c })
	if found == nil {
		t.Fatalf("no audit entry %d", seq)
	}
	return *found
}

func TestVerifyChainDetectsTampering(t *testing.T) {
	const n = 10
	tests := []struct {
		name    string
		tamper  func(t *testing.T, s *Store)
		wantSeq int64
	}{
		{"altered detail", func(t *testing.T, s *Store) {
			s.TamperAudit(4, func(e *registry.AuditEntry) { e.Detail = `{"i":2}` })
		}, 4},
		{"altered purpose of the last entry", func(t *testing.T, s *Store) {
			s.TamperAudit(n, func(e *registry.AuditEntry) { e.Purpose = "other" })
		}, n},
		{"altered time", func(t *testing.T, s *Store) {
			s.TamperAudit(1, func(e *registry.AuditEntry) { e.At = e.At.Add(-1e3) })
		}, 1},
		{"altered and rehashed entry", func(t *testing.T, s *Store) {
			// Whoever recomputes the hash of an entry they changed still
			// breaks the link of the next one.
			prev := entryAt(t, s, 5)
			s.TamperAudit(6, func(e *registry.AuditEntry) {
				e.Actor = "someone else"
				registry.Link(registry.ChainHead{Seq: prev.Seq, Hash: prev.Hash}, e)
			})
		}, 7},
		{"removed middle entry", func(t *testing.T, s *Store) { s.DeleteAudit(5) }, 5},
		{"removed first entry", func(t *testing.T, s *Store) { s.DeleteAudit(1) }, 1},
		{"removed last entry", func(t *testing.T, s *Store) { s.DeleteAudit(n) }, n},
		{"swapped entries", func(t *testing.T, s *Store) {
			// Rows trade places: each keeps its sequence slot but carries
			// the other's content.
			a, b := entryAt(t, s, 3), entryAt(t, s, 4)
			s.TamperAudit(3, func(e *registry.AuditEntry) { *e = b; e.Seq = 3 })
			s.TamperAudit(4, func(e *registry.AuditEntry) { *e = a; e.Seq = 4 })
		}, 3},
		{"swapped sequence numbers", func(t *testing.T, s *Store) {
			s.TamperAudit(8, func(e *registry.AuditEntry) { e.Seq = 9 })
			s.TamperAudit(9, func(e *registry.AuditEntry) { e.Seq = 8 })
		}, 8},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := trail(t, n)
			if _, err := registry.VerifyChain(t.Context(), s); err != nil {
				t.Fatalf("VerifyChain before tampering: %v", err)
			}
			tc.tamper(t, s)
			_, err := registry.VerifyChain(t.Context(), s)
			var ce *registry.ChainError
			if !errors.As(err, &ce) {
				t.Fatalf("VerifyChain after tampering = %v, want a *registry.ChainError", err)
			}
			if !errors.Is(err, registry.ErrTampered) {
				t.Errorf("error does not wrap ErrTampered: %v", err)
			}
			if ce.Seq != tc.wantSeq {
				t.Errorf("ChainError names entry %d, want %d (%v)", ce.Seq, tc.wantSeq, err)
			}
		})
	}
}

func TestTamperUnknownSeqIsNoOp(t *testing.T) {
	s := trail(t, 3)
	s.TamperAudit(99, func(e *registry.AuditEntry) { e.Detail = "x" })
	s.DeleteAudit(0)
	if n, err := registry.VerifyChain(t.Context(), s); err != nil || n != 3 {
		t.Errorf("VerifyChain = %d, %v; want 3, nil", n, err)
	}
}

// logged is s as a gateway wires it: entries committed to the log first.
func logged(s *Store) registry.AuditLog {
	return registry.Committing{AuditLog: s, Key: testLogKey}
}

// testLogKey commits the entries and filings of these tests.
var testLogKey = registry.NewRandomLogKey()
