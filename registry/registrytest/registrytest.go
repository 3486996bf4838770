// Package registrytest is the one conformance suite that every
// registry.Store and registry.AuditLog implementation must pass, in the
// manner of HashiCorp Vault's sdk/physical/testing.go: the doc comments of
// registry/store.go and registry/audit.go are the contract, and each
// subtest here checks one promise of it.
//
// Beyond the interface comments, the suite fixes these points:
//   - times a store was given (Change.At, AuditEntry.At) come back as the
//     same instant cut to microseconds, in UTC;
//   - nil and empty slices are alike, but every byte and string comes back
//     exactly, AuditEntry.Detail included (a jsonb column, which reorders
//     keys, is not good enough: the hash covers the exact text);
//   - CurrentMany returns each existing certificate once, however often it
//     was asked for; ByPerson of an unknown or empty index returns nothing;
//   - an empty Insert or AppendAudit batch is a no-op, not an error;
//   - the same batch inserted from several goroutines files each record
//     once (one Inserted, the rest Unchanged), without errors;
//   - AppendAudit sets Seq, PrevHash and Hash on the caller's entries;
//   - every method fails on an already cancelled context and then writes
//     nothing;
//   - nothing a caller passed in or got back aliases stored data.
package registrytest

import (
	"testing"

	"github.com/degreegate/degreegate/registry"
)

// Backend is a fresh, empty store under test.
type Backend struct {
	Store registry.Store
	Audit registry.AuditLog
	// Codes and Search are the optional powers. When nil they are taken
	// from Store or Audit if those implement them; a backend that has
	// neither skips their subtests.
	Codes  registry.ShareCodeStore
	Search registry.AuditSearcher
	// Datasets, when nil, is taken from Store if it implements it.
	Datasets registry.DatasetStore
}

// Run runs every contract test; open is called once per subtest and must
// return an empty backend (clean it up with t.Cleanup). Subtests run one
// after another, so backends may share one database that open empties.
func Run(t *testing.T, open func(t *testing.T) Backend) {
	t.Helper()
	t.Run("Store", func(t *testing.T) { runStore(t, open) })
	t.Run("ByPersons", func(t *testing.T) { runByPersons(t, open) })
	t.Run("Audit", func(t *testing.T) { runAudit(t, open) })
	t.Run("VersionLog", func(t *testing.T) { runVersionLog(t, open) })
	t.Run("ShareCodes", func(t *testing.T) { runShareCodes(t, open) })
	t.Run("AuditSearch", func(t *testing.T) { runAuditSearch(t, open) })
	t.Run("Datasets", func(t *testing.T) { runDatasets(t, open) })
}
