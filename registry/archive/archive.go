// Package archive moves the oldest part of the audit trail out of the
// database into files, and reads it back for verification: a trail that
// grows for years keeps in the database only what its retention period
// asks (issue 15, part 4).
//
// An archive is two files in one folder: audit-FIRST-LAST.jsonl.gz, the
// entries FIRST..LAST as JSON lines, exactly as stored (chain hashes
// included), and audit-FIRST-LAST.json, its manifest: the entries file's
// SHA-256, the root of the log at size LAST, a signed checkpoint of a
// tree at least that large, and the consistency proof between the two.
// The log's stored hashes stay in the database, so every proof stays
// servable; the entries leave it.
//
// Trail reads the archives, then the database, as one trail, so that
// registry.VerifyTrail checks archived entries exactly as it checks the
// others — chain, leaves and the roots of checkpoints — and Checkpoints
// adds every archive's own checkpoint and root to the roots it checks.
package archive

import (
	"bufio"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/degreegate/degreegate/registry"
	"github.com/degreegate/degreegate/translog"
)

// Format names the version of the archive files.
const Format = "degreegate-audit-archive/v1"

// ErrBadArchive is wrapped by every error about an archive's content.
var ErrBadArchive = errors.New("archive: not a valid audit archive")

// Manifest describes one archive.
type Manifest struct {
	Format   string `json:"format"`
	FirstSeq int64  `json:"first_seq"`
	LastSeq  int64  `json:"last_seq"`
	// Entries is the entries file's name, in the manifest's folder;
	// SHA256 its hex digest.
	Entries string `json:"entries"`
	SHA256  string `json:"sha256"`
	// Cutoff: every entry archived is older than this (the retention
	// period's start when the archive was made).
	Cutoff time.Time `json:"cutoff"`
	// TreeRoot is the log's root at size LastSeq (base64); Checkpoint a
	// signed checkpoint of a tree at least that large, and Consistency
	// the proof that the smaller tree is its prefix.
	TreeRoot    string   `json:"tree_root"`
	Checkpoint  string   `json:"checkpoint"`
	Consistency []string `json:"consistency"`
}

// Name is the base name of the files of the archive of first..last.
func Name(first, last int64) string { return fmt.Sprintf("audit-%d-%d", first, last) }

// Source is what Write reads: entries in Seq order from first on
// (Store.ScanAudit), and the log's stored hashes.
type Source interface {
	ScanAudit(ctx context.Context, from int64, fn func(registry.AuditEntry) error) error
	ReadLogHashes(ctx context.Context, indexes []int64) ([]tlog.Hash, error)
}

// Write writes the archive of entries first..last of src into dir, with
// cp — a signed checkpoint (its note) of a tree of at least last leaves —
// and returns its manifest and the entries file's SHA-256. Both files
// are written under temporary names and synced before they take their
// own, so a crash leaves no half archive under an archive's name.
func Write(ctx context.Context, dir string, src Source, first, last int64, cutoff time.Time, note []byte, v *translog.Verifier) (Manifest, []byte, error) {
	cp, err := v.Open(note)
	if err != nil {
		return Manifest{}, nil, err
	}
	if first < 1 || last < first || cp.Size < last {
		return Manifest{}, nil, fmt.Errorf("archive: entries %d–%d with a checkpoint of %d: the checkpoint must cover them", first, last, cp.Size)
	}
	hashes := hashReader{src}
	root, err := translog.Root(ctx, hashes, last)
	if err != nil {
		return Manifest{}, nil, fmt.Errorf("archive: the log's root at %d: %w", last, err)
	}
	proof, err := translog.ProveConsistency(ctx, hashes, last, cp.Size)
	if err != nil {
		return Manifest{}, nil, fmt.Errorf("archive: consistency of %d with %d: %w", last, cp.Size, err)
	}
	if err := translog.CheckConsistency(translog.Checkpoint{Origin: cp.Origin, Size: last, Root: root}, cp, proof); err != nil {
		return Manifest{}, nil, fmt.Errorf("archive: the log's stored hashes do not make the checkpoint's tree: %w", err)
	}
	name := Name(first, last)
	sum, err := writeEntries(ctx, filepath.Join(dir, name+".jsonl.gz"), src, first, last)
	if err != nil {
		return Manifest{}, nil, err
	}
	m := Manifest{Format: Format, FirstSeq: first, LastSeq: last, Entries: name + ".jsonl.gz", SHA256: hex.EncodeToString(sum),
		Cutoff: cutoff.UTC(), TreeRoot: base64.StdEncoding.EncodeToString(root[:]), Checkpoint: string(note)}
	for _, h := range proof {
		m.Consistency = append(m.Consistency, base64.StdEncoding.EncodeToString(h[:]))
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return Manifest{}, nil, err
	}
	if err := writeFile(filepath.Join(dir, name+".json"), func(w io.Writer) error { _, err := w.Write(append(b, '\n')); return err }); err != nil {
		return Manifest{}, nil, err
	}
	return m, sum, nil
}

// hashReader reads a Source's stored hashes as translog does.
type hashReader struct{ src Source }

func (h hashReader) ReadHashes(ctx context.Context, indexes []int64) ([]tlog.Hash, error) {
	return h.src.ReadLogHashes(ctx, indexes)
}

var errDone = errors.New("done")

// writeEntries writes entries first..last as gzipped JSON lines and
// returns the file's SHA-256; it fails unless it found all of them.
func writeEntries(ctx context.Context, path string, src Source, first, last int64) ([]byte, error) {
	h := sha256.New()
	err := writeFile(path, func(w io.Writer) error {
		zw := gzip.NewWriter(io.MultiWriter(w, h))
		enc := json.NewEncoder(zw)
		next := first
		err := src.ScanAudit(ctx, first, func(e registry.AuditEntry) error {
			if e.Seq > last {
				return errDone
			}
			if e.Seq != next {
				return fmt.Errorf("archive: entry %d is missing from the trail (found %d)", next, e.Seq)
			}
			next++
			return enc.Encode(&e)
		})
		if err != nil && !errors.Is(err, errDone) {
			return err
		}
		if next != last+1 {
			return fmt.Errorf("archive: the trail ends at %d, before %d", next-1, last)
		}
		return zw.Close()
	})
	if err != nil {
		return nil, err
	}
	return h.Sum(nil), nil
}

// writeFile writes path through a synced temporary file in its folder.
func writeFile(path string, write func(io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // a no-op once renamed
	bw := bufio.NewWriter(tmp)
	if err := write(bw); err != nil {
		tmp.Close()
		return err
	}
	if err := bw.Flush(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	d, err := os.Open(filepath.Dir(path))
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// Archive is an archive whose manifest was checked (Load).
type Archive struct {
	Manifest
	dir        string
	root       tlog.Hash
	checkpoint translog.Checkpoint
}

// Load reads and checks every archive in dir: each manifest's
// checkpoint against the log's verifier key, its consistency proof
// against its root, its entries file against its SHA-256; together they
// must hold entries 1..n without a gap. Archives come back in order.
func Load(dir string, v *translog.Verifier) ([]Archive, error) {
	names, err := filepath.Glob(filepath.Join(dir, "audit-*.json"))
	if err != nil {
		return nil, err
	}
	var out []Archive
	for _, path := range names {
		a, err := load(path, v)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", filepath.Base(path), err)
		}
		out = append(out, a)
	}
	slices.SortFunc(out, func(a, b Archive) int { return int(a.FirstSeq - b.FirstSeq) })
	next := int64(1)
	for _, a := range out {
		if a.FirstSeq != next {
			return nil, fmt.Errorf("%w: the archives in %s hold entries up to %d, then from %d: an archive is missing", ErrBadArchive, dir, next-1, a.FirstSeq)
		}
		next = a.LastSeq + 1
	}
	return out, nil
}

func load(path string, v *translog.Verifier) (Archive, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Archive{}, err
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return Archive{}, fmt.Errorf("%w: manifest: %v", ErrBadArchive, err)
	}
	switch {
	case m.Format != Format:
		return Archive{}, fmt.Errorf("%w: format %q, want %q", ErrBadArchive, m.Format, Format)
	case m.FirstSeq < 1 || m.LastSeq < m.FirstSeq:
		return Archive{}, fmt.Errorf("%w: entries %d–%d", ErrBadArchive, m.FirstSeq, m.LastSeq)
	case m.Entries != Name(m.FirstSeq, m.LastSeq)+".jsonl.gz":
		return Archive{}, fmt.Errorf("%w: entries file %q is not this archive's", ErrBadArchive, m.Entries)
	}
	a := Archive{Manifest: m, dir: filepath.Dir(path)}
	root, err := base64.StdEncoding.DecodeString(m.TreeRoot)
	if err != nil || len(root) != tlog.HashSize {
		return Archive{}, fmt.Errorf("%w: tree_root is not a base64 SHA-256", ErrBadArchive)
	}
	copy(a.root[:], root)
	if a.checkpoint, err = v.Open([]byte(m.Checkpoint)); err != nil {
		return Archive{}, err
	}
	var proof tlog.TreeProof
	for _, s := range m.Consistency {
		h, err := base64.StdEncoding.DecodeString(s)
		if err != nil || len(h) != tlog.HashSize {
			return Archive{}, fmt.Errorf("%w: consistency proof is not base64 SHA-256 hashes", ErrBadArchive)
		}
		proof = append(proof, tlog.Hash(h))
	}
	if a.checkpoint.Size < m.LastSeq {
		return Archive{}, fmt.Errorf("%w: its checkpoint covers %d entries, fewer than its %d", ErrBadArchive, a.checkpoint.Size, m.LastSeq)
	}
	older := translog.Checkpoint{Origin: a.checkpoint.Origin, Size: m.LastSeq, Root: a.root}
	if err := translog.CheckConsistency(older, a.checkpoint, proof); err != nil {
		return Archive{}, fmt.Errorf("%w: its tree of %d is not a prefix of its checkpoint's tree of %d: %v", ErrBadArchive, m.LastSeq, a.checkpoint.Size, err)
	}
	f, err := os.Open(filepath.Join(a.dir, m.Entries))
	if err != nil {
		return Archive{}, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return Archive{}, err
	}
	if got := hex.EncodeToString(h.Sum(nil)); !strings.EqualFold(got, m.SHA256) {
		return Archive{}, fmt.Errorf("%w: %s does not have the SHA-256 its manifest names (changed since it was written)", ErrBadArchive, m.Entries)
	}
	return a, nil
}

// Checkpoints are the roots an archive vouches for: its own tree's, which
// its consistency proof ties to its checkpoint, and its checkpoint's.
func (a Archive) Checkpoints() []translog.Checkpoint {
	return []translog.Checkpoint{{Origin: a.checkpoint.Origin, Size: a.LastSeq, Root: a.root}, a.checkpoint}
}

// Scan calls fn with the archive's entries from Seq from on, in order.
func (a Archive) Scan(from int64, fn func(registry.AuditEntry) error) error {
	f, err := os.Open(filepath.Join(a.dir, a.Entries))
	if err != nil {
		return err
	}
	defer f.Close()
	zr, err := gzip.NewReader(bufio.NewReader(f))
	if err != nil {
		return fmt.Errorf("%w: %s: %v", ErrBadArchive, a.Entries, err)
	}
	dec := json.NewDecoder(zr)
	for {
		var e registry.AuditEntry
		if err := dec.Decode(&e); errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return fmt.Errorf("%w: %s: %v", ErrBadArchive, a.Entries, err)
		}
		if e.Seq < from {
			continue
		}
		if err := fn(e); err != nil {
			return err
		}
	}
}

// Trail is a trail whose oldest entries are in archives: ScanAudit reads
// them first, then the store's from after the last archived entry.
type Trail struct {
	registry.AuditLog
	Archives []Archive
}

// ScanAudit calls fn with the entries from Seq from on, archived first.
func (t Trail) ScanAudit(ctx context.Context, from int64, fn func(registry.AuditEntry) error) error {
	next := from
	for _, a := range t.Archives {
		if a.LastSeq < from {
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := a.Scan(from, fn); err != nil {
			return err
		}
		next = a.LastSeq + 1
	}
	return t.AuditLog.ScanAudit(ctx, next, fn)
}
