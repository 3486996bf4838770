package anonymizer

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"errors"
	"hash"
)

// A dataset's pseudonyms stand for its people and, at the same time, are
// its fingerprint. Each is 16 bytes, written as 26 base32 characters:
//
//	r = HMAC(K_person, person index)[:10]   one person, one r, in this dataset
//	t = HMAC(K_tag, r)[:6]                  a keyed tag over r
//
// with K_person and K_tag derived from the dataset's own key. One person's
// degrees share r inside a dataset; another dataset has another key, so
// its pseudonyms cannot be joined with these. Whoever holds the key can
// tell one of its pseudonyms from any other 26 characters (a stranger's
// token passes by chance with probability 2⁻⁴⁸), so any few rows of a
// leaked file, in whatever format, name the dataset they came from —
// while to everyone else the pseudonyms look like random labels.

// PseudonymSize is the length of a pseudonym in bytes; PseudonymLen in
// characters as written.
const (
	PseudonymSize = 16
	PseudonymLen  = 26
	pseudonymR    = 10
)

var pseudonymEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// Pseudonyms computes and recognises the pseudonyms of one dataset. It is
// not safe for concurrent use.
type Pseudonyms struct {
	person, tag hash.Hash
	sum         []byte
}

// NewPseudonyms keys the pseudonyms of a dataset.
func NewPseudonyms(key []byte) (*Pseudonyms, error) {
	if len(key) < 16 {
		return nil, errors.New("pseudonym key: want at least 16 bytes")
	}
	derive := func(label string) []byte {
		m := hmac.New(sha256.New, key)
		m.Write([]byte("degreegate/dataset/" + label + "/v1"))
		return m.Sum(nil)
	}
	return &Pseudonyms{
		person: hmac.New(sha256.New, derive("person")),
		tag:    hmac.New(sha256.New, derive("fingerprint")),
		sum:    make([]byte, 0, sha256.Size),
	}, nil
}

// Of returns the pseudonym of the person with this person index.
func (p *Pseudonyms) Of(personIndex []byte) (out [PseudonymSize]byte) {
	p.person.Reset()
	p.person.Write(personIndex)
	p.sum = p.person.Sum(p.sum[:0])
	copy(out[:pseudonymR], p.sum)
	copy(out[pseudonymR:], p.tagOf(out[:pseudonymR]))
	return out
}

func (p *Pseudonyms) tagOf(r []byte) []byte {
	p.tag.Reset()
	p.tag.Write(r)
	p.sum = p.tag.Sum(p.sum[:0])
	return p.sum[:PseudonymSize-pseudonymR]
}

// EncodePseudonym writes a pseudonym as 26 lower-case base32 characters.
func EncodePseudonym(b [PseudonymSize]byte) string { return pseudonymEncoding.EncodeToString(b[:]) }

// AppendPseudonym appends the written form of b to dst.
func AppendPseudonym(dst []byte, b [PseudonymSize]byte) []byte {
	return pseudonymEncoding.AppendEncode(dst, b[:])
}

// DecodePseudonym reads the written form; ok is false for anything that
// is not 26 base32 characters.
func DecodePseudonym(s string) (b [PseudonymSize]byte, ok bool) {
	if len(s) != PseudonymLen {
		return b, false
	}
	n, err := pseudonymEncoding.Decode(b[:], []byte(s))
	return b, err == nil && n == PseudonymSize
}

// Recognise reports whether b is a pseudonym of this dataset: whether its
// tag is the keyed tag of its first ten bytes.
func (p *Pseudonyms) Recognise(b [PseudonymSize]byte) bool {
	return subtle.ConstantTimeCompare(p.tagOf(b[:pseudonymR]), b[pseudonymR:]) == 1
}
