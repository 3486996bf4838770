package disclose

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
)

// Share codes (Art. 22): a holder shares a fuller report of one
// certificate through a time-limited code and withdraws it; anyone
// holding it sees the report at the level the holder chose
// (SharedReport).
//
// A code is 20 characters from a 32-letter alphabet, 100 bits from
// crypto/rand, shown in four groups of five (e.g. 7KQ4M-XW2ZP-…). The
// alphabet leaves out 0, 1, I and O, so nothing a reader copies can be
// ambiguous, and input is case-insensitive with '-' and ' ' ignored.
// Why 100 bits and not the minimum 80: codes are guessed online only, and
// the per-address and per-block limits are the defence. A botnet spread
// over a million /24 blocks at the policy's block rate makes ~10^7 guesses
// a second; against a million live codes 80 bits would fall in about a
// year of such effort, 100 bits in a million years. The extra four
// characters are cheap in a link or a QR code.
//
// Only the SHA-256 of a code is stored. A plain hash is enough here: the
// preimage space is 2^100, so a copy of the table yields no working code.

const (
	CodeAlphabet = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ" // 32 letters: 5 bits each
	CodeLength   = 20                                 // 100 bits
	codeGroup    = 5
	// maxCodeInput bounds what is read as a code before anything else.
	maxCodeInput = 64
	// CodeIDLength is the hex length of a code's id: the first 8 bytes of
	// its hash, a handle for listings and the audit trail that does not
	// reveal the code (finding a code from it is a 2^100 search).
	CodeIDLength = 16
)

// NewShareCode returns a fresh code in canonical form: 20 letters from
// codeAlphabet, each from one random byte (256 is a multiple of 32, so
// every letter is equally likely).
func NewShareCode() string {
	var b [CodeLength]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err)) // never fails on supported platforms
	}
	for i := range b {
		b[i] = CodeAlphabet[b[i]&31]
	}
	return string(b[:])
}

// GroupCode shows a canonical code in groups of five joined by '-'.
func GroupCode(canon string) string {
	var sb strings.Builder
	for i := 0; i < len(canon); i += codeGroup {
		if i > 0 {
			sb.WriteByte('-')
		}
		sb.WriteString(canon[i:min(i+codeGroup, len(canon))])
	}
	return sb.String()
}

// CanonicalCode reads a code as a person may type it: any case, with '-'
// or ' ' anywhere. ok is false for anything that is not exactly
// CodeLength letters of the alphabet.
func CanonicalCode(s string) (string, bool) {
	if len(s) > maxCodeInput {
		return "", false
	}
	var b [CodeLength]byte
	n := 0
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case ch == '-' || ch == ' ':
			continue
		case 'a' <= ch && ch <= 'z':
			ch -= 'a' - 'A'
		}
		if n == CodeLength || strings.IndexByte(CodeAlphabet, ch) < 0 {
			return "", false
		}
		b[n] = ch
		n++
	}
	if n != CodeLength {
		return "", false
	}
	return string(b[:]), true
}

// IsCodeID reports whether s has the shape of a code id.
func IsCodeID(s string) bool {
	if len(s) != CodeIDLength {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i] | 0x20 // lower-case letters; digits unchanged
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// CodeID is a share code's id, from its stored hash: the first 8 bytes
// in hex (see CodeIDLength).
func CodeID(hash []byte) string { return hex.EncodeToString(hash[:CodeIDLength/2]) }

// CodeRefOf names a canonical code by its stored SHA-256 and its id.
func CodeRefOf(canon string) CodeRef {
	sum := sha256.Sum256([]byte(canon))
	return CodeRef{Hash: sum[:], ID: CodeID(sum[:])}
}
