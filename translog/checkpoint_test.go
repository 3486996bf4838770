package translog

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

const origin = "registry.example.cn/degreegate/log"

func testKeys(t *testing.T, name string) (*Signer, *Verifier) {
	t.Helper()
	skey, vkey, err := GenerateKey(name)
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	v, err := NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	return s, v
}

func TestSignedCheckpoint(t *testing.T) {
	s, v := testKeys(t, origin)
	root := tlog.RecordHash([]byte("x"))
	msg, err := s.Sign(1234, root)
	if err != nil {
		t.Fatal(err)
	}
	// The C2SP shape: three lines, a blank line, a signature line.
	lines := strings.Split(string(msg), "\n")
	if len(lines) != 6 || lines[0] != origin || lines[1] != "1234" || lines[2] != root.String() || lines[3] != "" ||
		!strings.HasPrefix(lines[4], "— "+origin+" ") {
		t.Fatalf("signed checkpoint:\n%s", msg)
	}
	c, err := v.Open(msg)
	if err != nil {
		t.Fatal(err)
	}
	if c.Origin != origin || c.Size != 1234 || c.Root != root {
		t.Fatalf("opened %+v", c)
	}

	_, other := testKeys(t, origin)
	if _, err := other.Open(msg); !errors.Is(err, ErrBadCheckpoint) {
		t.Errorf("another key of the same name: %v", err)
	}
	tampered := bytes.Replace(msg, []byte("1234"), []byte("1235"), 1)
	if _, err := v.Open(tampered); !errors.Is(err, ErrBadCheckpoint) {
		t.Errorf("a size changed after signing: %v", err)
	}
	// Signed with the log's key, but naming another log.
	skey, vkey, _ := GenerateKey(origin)
	ns, _ := note.NewSigner(skey)
	foreign, _ := note.Sign(&note.Note{Text: "other.example/log\n1\n" + root.String() + "\n"}, ns)
	fv, _ := NewVerifier(vkey)
	if _, err := fv.Open(foreign); !errors.Is(err, ErrBadCheckpoint) || !strings.Contains(err.Error(), "origin") {
		t.Errorf("a checkpoint naming another log: %v", err)
	}
	if _, err := NewSigner("PRIVATE+KEY+nonsense"); err == nil {
		t.Error("a malformed signer key was taken")
	}
	if _, err := NewVerifier("nonsense"); err == nil {
		t.Error("a malformed verifier key was taken")
	}
}

func TestParseCheckpoint(t *testing.T) {
	root := tlog.RecordHash([]byte("x")).String()
	good := origin + "\n12\n" + root + "\n"
	c, err := ParseCheckpoint([]byte(good + "ext one\n"))
	if err != nil || c.Size != 12 || len(c.Extensions) != 1 || string(c.Text()) != good+"ext one\n" {
		t.Fatalf("%+v, %v", c, err)
	}
	for _, tc := range []struct{ name, text, says string }{
		{"empty", "", "newline"},
		{"no final newline", strings.TrimSuffix(good, "\n"), "newline"},
		{"two lines", origin + "\n12\n", "lines"},
		{"empty origin", "\n12\n" + root + "\n", "origin"},
		{"leading zero", origin + "\n012\n" + root + "\n", "line 2"},
		{"negative size", origin + "\n-12\n" + root + "\n", "line 2"},
		{"signed size", origin + "\n+12\n" + root + "\n", "line 2"},
		{"size beyond int64", origin + "\n9223372036854775808\n" + root + "\n", "line 2"},
		{"huge size", origin + "\n" + strings.Repeat("9", 400) + "\n" + root + "\n", "line 2"},
		{"root not base64", origin + "\n12\nnot-base64!\n", "line 3"},
		{"root of 31 bytes", origin + "\n12\n" + root[:40] + "\n", "line 3"},
		{"root in URL base64", origin + "\n12\n" + strings.NewReplacer("+", "-", "/", "_").Replace(tlog.Hash{0xfb, 0xff}.String()) + "\n", "line 3"},
		{"empty extension", good + "\n", "extension"},
	} {
		_, err := ParseCheckpoint([]byte(tc.text))
		if !errors.Is(err, ErrBadCheckpoint) || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("%s: %v, want ErrBadCheckpoint naming %q", tc.name, err, tc.says)
		}
	}
}

// FuzzParseCheckpoint: any text is refused or read back to the same
// text, never a panic.
func FuzzParseCheckpoint(f *testing.F) {
	root := tlog.RecordHash([]byte("x")).String()
	f.Add([]byte(origin + "\n12\n" + root + "\n"))
	f.Add([]byte(origin + "\n0\n" + root + "\nextension\n"))
	f.Add([]byte("a\n1\n\n"))
	f.Fuzz(func(t *testing.T, text []byte) {
		c, err := ParseCheckpoint(text)
		if err != nil {
			return
		}
		if !bytes.Equal(c.Text(), text) {
			t.Fatalf("%q read as %+v, written back as %q", text, c, c.Text())
		}
	})
}

// FuzzOpen: whatever arrives as a signed checkpoint is refused or opens
// to a checkpoint of this log, never a panic.
func FuzzOpen(f *testing.F) {
	skey, vkey, _ := GenerateKey(origin)
	s, _ := NewSigner(skey)
	v, _ := NewVerifier(vkey)
	msg, _ := s.Sign(7, tlog.Hash{1})
	f.Add(msg)
	f.Add([]byte(origin + "\n7\n\n— " + origin + " AAAA\n"))
	f.Fuzz(func(t *testing.T, msg []byte) {
		c, err := v.Open(msg)
		if err == nil && c.Origin != origin {
			t.Fatalf("opened a checkpoint of %q", c.Origin)
		}
	})
}
