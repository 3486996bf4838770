package anonymizer

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"time"
)

// Manifest describes an anonymised file: what was asked, what was
// achieved, what it cost, and how to recognise the files. The degree
// datasets extend it with their request, policy and expiry.
type Manifest struct {
	Engine  string    `json:"engine"`
	Created time.Time `json:"created"`
	Spec    Spec      `json:"spec"`
	Input   FileInfo  `json:"input"`
	Output  FileInfo  `json:"output"`
	Result  *Result   `json:"result"`
	// Seconds is the whole run: reading, search and writing.
	Seconds float64 `json:"seconds"`
}

// Spec is the request as the manifest records it.
type Spec struct {
	Method         Method            `json:"method"`
	QuasiIDs       []string          `json:"quasi_identifiers"`
	Hierarchies    map[string]string `json:"hierarchies,omitempty"` // column → source
	K              int               `json:"k"`
	MaxSuppression float64           `json:"max_suppression"`
	Sensitive      string            `json:"sensitive,omitempty"`
	L              int               `json:"l,omitempty"`
	Diversity      Diversity         `json:"diversity,omitempty"`
	Person         string            `json:"person_column,omitempty"`
}

// FileInfo identifies a file.
type FileInfo struct {
	Path   string `json:"path"`
	Rows   int64  `json:"rows"`
	Bytes  int64  `json:"bytes"`
	SHA256 string `json:"sha256"`
}

// FileSum passes what is written to the writer it wraps and counts and
// hashes it, for the Bytes and SHA256 of an output file's FileInfo.
type FileSum struct {
	w io.Writer
	h hash.Hash
	n int64
}

// NewFileSum sums what goes to w.
func NewFileSum(w io.Writer) *FileSum { return &FileSum{w: w, h: sha256.New()} }

func (s *FileSum) Write(p []byte) (int, error) {
	n, err := s.w.Write(p)
	s.h.Write(p[:n])
	s.n += int64(n)
	return n, err
}

// Bytes is how much was written.
func (s *FileSum) Bytes() int64 { return s.n }

// SHA256 is the hex SHA-256 of what was written.
func (s *FileSum) SHA256() string { return hex.EncodeToString(s.h.Sum(nil)) }

// ManifestPath is where the manifest of an output file goes: beside it,
// named after it, so several outputs can share a folder.
func ManifestPath(out string) string { return out + ".manifest.json" }

// WriteFile writes m as indented JSON, atomically (temporary file, then
// rename), so a reader never sees half a manifest.
func (m *Manifest) WriteFile(path string) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("manifest: %w", err)
	}
	return WriteFileAtomic(path, append(b, '\n'))
}

// WriteFileAtomic writes data to a temporary file beside path and renames
// it into place.
func WriteFileAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}
