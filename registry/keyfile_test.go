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
	written, err := InitKeys(dir, time.Date(2026, 11, 29, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	if len(written) != 3 {
		t.Fatalf("wrote %d files, want 3", len(written))
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

	// Never overwrite: a second init fails and leaves the files as they were.
	before, _ := os.ReadFile(filepath.Join(dir, DataKeysFile))
	if _, err := InitKeys(dir, time.Now()); err == nil {
		t.Fatal("second keys init succeeded")
	}
	after, _ := os.ReadFile(filepath.Join(dir, DataKeysFile))
	if string(before) != string(after) {
		t.Fatal("second keys init changed the data keys")
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
