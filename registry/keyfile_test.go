package registry

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestInitAndLoadKeys(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	written, err := InitKeys(dir, "registry.example/log", time.Date(2026, 11, 29, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	if len(written) != 6 {
		t.Fatalf("wrote %d files, want 6", len(written))
	}
	for _, p := range written {
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", p, st.Mode().Perm())
		}
	}
	k, err := LoadKeyring(dir, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(k.ActiveKeyID(), "d20261129-") {
		t.Errorf("active key id %q does not carry its date", k.ActiveKeyID())
	}
	if _, err := LoadReceiptKey(dir); err != nil {
		t.Errorf("receipt key: %v", err)
	}
	if _, err := LoadLogKey(dir, func(string) string { return "" }); err != nil {
		t.Errorf("log leaf key: %v", err)
	}
	signer, err := LoadLogSigner(dir)
	if err != nil {
		t.Fatalf("log signer: %v", err)
	}
	verifier, _, err := LoadLogVerifier(filepath.Join(dir, LogVerifierFile))
	if err != nil {
		t.Fatalf("log verifier: %v", err)
	}
	signed, err := signer.Sign(1, [32]byte{1})
	if err != nil {
		t.Fatal(err)
	}
	if c, err := verifier.Open(signed); err != nil || c.Origin != "registry.example/log" {
		t.Errorf("a checkpoint signed with the new key: %+v, %v", c, err)
	}

	// Never overwrite: a second init fails and leaves the files as they were.
	before, _ := os.ReadFile(filepath.Join(dir, DataKeysFile))
	if _, err := InitKeys(dir, "registry.example/log", time.Now()); err == nil {
		t.Fatal("second keys init succeeded")
	}
	after, _ := os.ReadFile(filepath.Join(dir, DataKeysFile))
	if string(before) != string(after) {
		t.Fatal("second keys init changed the data keys")
	}
}

// A keys folder made before the log gets the log's keys and keeps the
// rest; one that holds half of the log's key pair is refused.
func TestInitKeysAddsTheLogKeys(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	if _, err := InitKeys(dir, "a.example/log", time.Now()); err != nil {
		t.Fatal(err)
	}
	old, _ := os.ReadFile(filepath.Join(dir, DataKeysFile))
	for _, n := range []string{LogLeafKeyFile, LogSigningFile, LogVerifierFile} {
		if err := os.Remove(filepath.Join(dir, n)); err != nil {
			t.Fatal(err)
		}
	}
	written, err := InitKeys(dir, "a.example/log", time.Now())
	if err != nil || len(written) != 3 {
		t.Fatalf("init over a folder without the log's keys: wrote %v, %v", written, err)
	}
	if now, _ := os.ReadFile(filepath.Join(dir, DataKeysFile)); string(now) != string(old) {
		t.Fatal("adding the log's keys changed the data keys")
	}
	if err := os.Remove(filepath.Join(dir, LogVerifierFile)); err != nil {
		t.Fatal(err)
	}
	if _, err := InitKeys(dir, "a.example/log", time.Now()); err == nil || !strings.Contains(err.Error(), LogSigningFile) {
		t.Fatalf("half a log key pair: %v", err)
	}
}

func TestLoadKeyringFromEnvironment(t *testing.T) {
	enc := base64.StdEncoding.EncodeToString
	env := map[string]string{EnvDataKey: enc(testKey(t)), EnvIndexKey: enc(testKey(t))}
	k, err := LoadKeyring("", func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if k.ActiveKeyID() != "env" {
		t.Errorf("active key %q", k.ActiveKeyID())
	}
}

func TestLoadKeyringErrorsNameWhatIsMissing(t *testing.T) {
	noEnv := func(string) string { return "" }
	dir := t.TempDir()
	cases := []struct {
		name  string
		setup func()
		env   func(string) string
		dir   string
		want  string
	}{
		{"no dir, no env", func() {}, noEnv, "", "DEGREEGATE_KEYS_DIR"},
		{"empty dir", func() {}, noEnv, dir, DataKeysFile},
		{"bad json", func() { os.WriteFile(filepath.Join(dir, DataKeysFile), []byte("{"), 0o600) }, noEnv, dir, "not valid JSON"},
		{"no index key", func() {
			os.WriteFile(filepath.Join(dir, DataKeysFile), []byte(`{"active":"a","keys":{"a":"`+base64.StdEncoding.EncodeToString(testKey(t))+`"}}`), 0o600)
		}, noEnv, dir, IndexKeyFile},
		{"short env key", func() {}, func(k string) string {
			if k == EnvDataKey {
				return base64.StdEncoding.EncodeToString([]byte("short"))
			}
			return ""
		}, "", "want 32 bytes"},
	}
	for _, c := range cases {
		c.setup()
		_, err := LoadKeyring(c.dir, c.env)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want an error naming %q", c.name, err, c.want)
		}
	}
}
