package anonymizer

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"testing"
)

func TestPseudonyms(t *testing.T) {
	k1, k2 := sha256.Sum256([]byte("one")), sha256.Sum256([]byte("two"))
	p1, err := NewPseudonyms(k1[:])
	if err != nil {
		t.Fatal(err)
	}
	p2, _ := NewPseudonyms(k2[:])
	seen := map[[PseudonymSize]byte]bool{}
	for i := range 2000 {
		person := sha256.Sum256([]byte(fmt.Sprint("person ", i)))
		a, b := p1.Of(person[:]), p2.Of(person[:])
		if a != p1.Of(person[:]) {
			t.Fatal("a person's pseudonym changes within a dataset")
		}
		if a == b || bytes.Equal(a[:pseudonymR], b[:pseudonymR]) {
			t.Fatal("two datasets give a person the same pseudonym")
		}
		if seen[a] {
			t.Fatal("two people share a pseudonym")
		}
		seen[a] = true
		if !p1.Recognise(a) || p2.Recognise(a) || !p2.Recognise(b) || p1.Recognise(b) {
			t.Fatalf("person %d: a dataset does not recognise exactly its own pseudonyms", i)
		}
		s := EncodePseudonym(a)
		back, ok := DecodePseudonym(s)
		if len(s) != PseudonymLen || !ok || back != a || string(AppendPseudonym(nil, a)) != s {
			t.Fatalf("pseudonym %q does not round-trip", s)
		}
		// A stranger's token, or a pseudonym with one bit changed, is not
		// recognised.
		a[i%PseudonymSize] ^= 1 << (i % 8)
		if p1.Recognise(a) {
			t.Fatalf("a changed pseudonym is recognised (bit %d)", i%128)
		}
	}
	if _, err := NewPseudonyms([]byte("short")); err == nil {
		t.Error("a short key was accepted")
	}
}
