package datasets

import (
	"bytes"
	"crypto/sha256"
	"testing"

	"github.com/degreegate/degreegate/anonymizer"
)

func TestScanTokens(t *testing.T) {
	k := sha256.Sum256([]byte("k"))
	p, _ := anonymizer.NewPseudonyms(k[:])
	a := anonymizer.EncodePseudonym(p.Of([]byte("x")))
	tests := []struct {
		in   string
		want int
	}{
		{a, 1},
		{"person,gender\n" + a + ",1\n", 1},
		{`"` + a + `";"2"`, 1},
		{a + a, 0},                       // 52 characters: not a token
		{"x" + a, 0},                     // 27 characters
		{a[:25], 0},                      // too short
		{"  " + bytesUpper(a) + "\t", 1}, // case ignored
	}
	for _, tc := range tests {
		n := 0
		scanTokens([]byte(tc.in), func(tok []byte) bool {
			if _, ok := anonymizer.DecodePseudonym(string(bytes.ToLower(tok))); ok {
				n++
			}
			return true
		})
		if n != tc.want {
			t.Errorf("scanTokens(%q) found %d, want %d", tc.in, n, tc.want)
		}
	}
}

func bytesUpper(s string) string { return string(bytes.ToUpper([]byte(s))) }

// FuzzScanTokens: any input, tokens are exactly the 26-character runs.
func FuzzScanTokens(f *testing.F) {
	f.Add([]byte("person,gender\nabcdefghijklmnopqrstuvwxyz,1\n"))
	f.Add([]byte("\xff\x00aaaaaaaaaaaaaaaaaaaaaaaaaa;"))
	f.Fuzz(func(t *testing.T, b []byte) {
		scanTokens(b, func(tok []byte) bool {
			if len(tok) != anonymizer.PseudonymLen {
				t.Fatalf("token of %d bytes", len(tok))
			}
			anonymizer.DecodePseudonym(string(bytes.ToLower(tok)))
			return true
		})
	})
}
