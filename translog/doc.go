// Package translog is the registry's transparency log: an append-only
// Merkle tree with RFC 6962/9162 hashing, and checkpoints of it in the
// C2SP checkpoint format, signed as C2SP signed notes with an Ed25519
// log key. The tree maths and proofs are golang.org/x/mod/sumdb/tlog's;
// signed notes are golang.org/x/mod/sumdb/note's.
//
// The tree is kept as its stored hashes (tlog.StoredHashes): an
// append-only sequence, so a store needs only to read hashes by index
// and append new ones. A checkpoint names a tree size and its root; a
// verifier holding a checkpoint checks that a leaf is in the tree
// (inclusion proof) and that a later checkpoint extends it (consistency
// proof) without trusting whoever keeps the store.
package translog
