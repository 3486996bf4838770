// Package registry holds the vocabulary of degreegate: the degree-conferral
// record of Art. 9, its validation (Art. 10), the storage and audit
// interfaces that adapters implement, at-rest protection of direct
// identifiers, and the hash chain of the audit trail (Art. 15).
//
// It imports nothing of the project and no driver: PostgreSQL lives in
// registry/postgres, the in-process store in registry/inmem.
package registry
