package disclose

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
)

// nameMatches compares the asked name with the stored one in time that
// does not depend on where they differ; found is false when there was
// nothing to compare with (stored is then a decoy, compared all the same).
// Both are laid in fixed buffers and compared a word at a time: hashing
// both, the earlier way, cost three times as much on every verification
// (BenchmarkNameMatches).
func nameMatches(asked, stored string, found bool) bool {
	if len(stored) > nameBuffer {
		// No stored name is this long (the registry allows 100
		// characters); should one be, hashing keeps the comparison whole.
		a, b := sha256.Sum256([]byte(asked)), sha256.Sum256([]byte(stored))
		return subtle.ConstantTimeCompare(a[:], b[:]) == 1 && found
	}
	var a, b [nameBuffer]byte
	copy(a[:], asked) // an asked name longer than the buffer differs in length
	copy(b[:], stored)
	var diff uint64
	for i := 0; i < nameBuffer; i += 8 {
		diff |= binary.LittleEndian.Uint64(a[i:]) ^ binary.LittleEndian.Uint64(b[i:])
	}
	same := subtle.ConstantTimeEq(int32(uint32(diff>>32)|uint32(diff)), 0) &
		subtle.ConstantTimeEq(int32(min(len(asked), nameBuffer+1)), int32(len(stored)))
	return same == 1 && found
}

// nameBuffer holds any stored name: 100 characters of at most 4 bytes.
const nameBuffer = 512
