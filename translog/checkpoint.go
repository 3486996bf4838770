package translog

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// Checkpoint is a tree head in the C2SP checkpoint format: the log's
// origin, the tree size, the root hash, and any extension lines.
type Checkpoint struct {
	Origin     string
	Size       int64
	Root       tlog.Hash
	Extensions []string
}

// ErrBadCheckpoint is wrapped by every error of ParseCheckpoint and
// OpenCheckpoint: the text or its signature is not a checkpoint of the
// log.
var ErrBadCheckpoint = errors.New("translog: not a valid checkpoint")

// Text is the checkpoint's note text: one line each for origin, size and
// root (standard base64), then the extension lines, each ending in a
// newline.
func (c Checkpoint) Text() []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s\n%d\n%s\n", c.Origin, c.Size, base64.StdEncoding.EncodeToString(c.Root[:]))
	for _, e := range c.Extensions {
		b.WriteString(e)
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// ParseCheckpoint reads a checkpoint's note text (not its signatures).
// It refuses, naming the line, an empty origin, a size that is not a
// plain decimal within int64, a root that is not 32 bytes of standard
// base64, an empty extension line, and text that does not end in a
// newline.
func ParseCheckpoint(text []byte) (Checkpoint, error) {
	bad := func(format string, a ...any) (Checkpoint, error) {
		return Checkpoint{}, fmt.Errorf("%w: %s", ErrBadCheckpoint, fmt.Sprintf(format, a...))
	}
	s := string(text)
	if !strings.HasSuffix(s, "\n") {
		return bad("the text does not end in a newline")
	}
	lines := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
	if len(lines) < 3 {
		return bad("%d lines, want origin, size and root hash", len(lines))
	}
	var c Checkpoint
	if c.Origin = lines[0]; c.Origin == "" {
		return bad("line 1: empty origin")
	}
	size := lines[1]
	if size == "" || (len(size) > 1 && size[0] == '0') || strings.TrimLeft(size, "0123456789") != "" {
		return bad("line 2: tree size %.20q is not a decimal number without leading zeros", size)
	}
	n, err := strconv.ParseInt(size, 10, 64)
	if err != nil {
		return bad("line 2: tree size out of range")
	}
	c.Size = n
	root, err := base64.StdEncoding.Strict().DecodeString(lines[2])
	if err != nil || len(root) != tlog.HashSize {
		return bad("line 3: root hash is not %d bytes of standard base64", tlog.HashSize)
	}
	copy(c.Root[:], root)
	for i, e := range lines[3:] {
		if e == "" {
			return bad("line %d: empty extension line", i+4)
		}
		c.Extensions = append(c.Extensions, e)
	}
	return c, nil
}

// GenerateKey makes an Ed25519 log key named origin: skey, the signer
// key, stays with the gateway's other keys and never in the database;
// vkey, the verifier key, is published for witnesses and verifiers.
func GenerateKey(origin string) (skey, vkey string, err error) {
	return note.GenerateKey(rand.Reader, origin)
}

// Signer signs checkpoints of one log.
type Signer struct{ s note.Signer }

// NewSigner reads a signer key (note's "PRIVATE+KEY+…" form).
func NewSigner(skey string) (*Signer, error) {
	s, err := note.NewSigner(skey)
	if err != nil {
		return nil, fmt.Errorf("translog: log key: %w", err)
	}
	return &Signer{s: s}, nil
}

// Origin is the log's name, which every checkpoint it signs carries.
func (s *Signer) Origin() string { return s.s.Name() }

// Sign returns the signed note of the checkpoint of size and root.
func (s *Signer) Sign(size int64, root tlog.Hash) ([]byte, error) {
	c := Checkpoint{Origin: s.s.Name(), Size: size, Root: root}
	msg, err := note.Sign(&note.Note{Text: string(c.Text())}, s.s)
	if err != nil {
		return nil, fmt.Errorf("translog: sign checkpoint: %w", err)
	}
	return msg, nil
}

// Verifier checks signed checkpoints of one log.
type Verifier struct{ v note.Verifier }

// NewVerifier reads a verifier key ("name+hash+key").
func NewVerifier(vkey string) (*Verifier, error) {
	v, err := note.NewVerifier(vkey)
	if err != nil {
		return nil, fmt.Errorf("translog: verifier key: %w", err)
	}
	return &Verifier{v: v}, nil
}

// Open checks a signed checkpoint: signed by the log's key, and naming
// the log as its origin. Signatures by other keys (witnesses') are
// allowed and ignored.
func (v *Verifier) Open(msg []byte) (Checkpoint, error) {
	n, err := note.Open(msg, note.VerifierList(v.v))
	if err != nil {
		return Checkpoint{}, fmt.Errorf("%w: %v", ErrBadCheckpoint, err)
	}
	c, err := ParseCheckpoint([]byte(n.Text))
	if err != nil {
		return Checkpoint{}, err
	}
	if c.Origin != v.v.Name() {
		return Checkpoint{}, fmt.Errorf("%w: origin %.64q is not this log's (%s)", ErrBadCheckpoint, c.Origin, v.v.Name())
	}
	return c, nil
}
