package registry

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/degreegate/degreegate/translog"
)

// Files that `degreegate keys init` writes into the keys folder.
const (
	DataKeysFile       = "data-keys.json"      // {"active": id, "keys": {id: base64}}
	IndexKeyFile       = "blind-index.key"     // base64 of 32 bytes
	ReceiptSigningFile = "receipt-signing.pem" // Ed25519 private key, PKCS #8
	LogLeafKeyFile     = "log-leaf.key"        // base64 of 32 bytes: commits audit entries to the log
	LogSigningFile     = "log-signing.key"     // the log's Ed25519 signer key, in sumdb/note's text form
	LogVerifierFile    = "log.vkey"            // its verifier key: public, for witnesses and auditors
)

// Environment variables that may hold the keys instead of files, for
// platforms that inject secrets that way. Each holds base64 of 32 bytes.
const (
	EnvDataKey  = "DEGREEGATE_DATA_KEY"
	EnvIndexKey = "DEGREEGATE_INDEX_KEY"
	EnvLogKey   = "DEGREEGATE_LOG_KEY"
)

type dataKeysDoc struct {
	Active string            `json:"active"`
	Keys   map[string]string `json:"keys"`
}

// ErrKeysExist: InitKeys found every key already there and wrote none.
var ErrKeysExist = errors.New("every key exists already: keys are never overwritten")

// InitKeys creates in dir (made 0700 if missing) whichever of the keys
// is missing: receipt signing, data encryption, blind index, and the
// log's leaf key, signer key and verifier key (the log named origin). It
// never overwrites a file, and fails when every key is already there; a
// folder made before the log existed gets the log's keys alone.
func InitKeys(dir, origin string, now time.Time) ([]string, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("keys dir: %w", err)
	}
	names := []string{DataKeysFile, IndexKeyFile, ReceiptSigningFile, LogLeafKeyFile, LogSigningFile, LogVerifierFile}
	var missing []string
	for _, n := range names {
		if _, err := os.Stat(filepath.Join(dir, n)); errors.Is(err, fs.ErrNotExist) {
			missing = append(missing, n)
		} else if err != nil {
			return nil, fmt.Errorf("keys dir: %w", err)
		}
	}
	if len(missing) == 0 {
		return nil, fmt.Errorf("%s: %w", dir, ErrKeysExist)
	}
	// The log's signer and verifier keys are a pair: one without the
	// other cannot be completed.
	hasSigner, hasVerifier := !slices.Contains(missing, LogSigningFile), !slices.Contains(missing, LogVerifierFile)
	if hasSigner != hasVerifier {
		return nil, fmt.Errorf("%s holds only one of %s and %s; restore the other, keys are never overwritten", dir, LogSigningFile, LogVerifierFile)
	}
	files, err := newKeyFiles(origin, now)
	if err != nil {
		return nil, err
	}
	var written []string
	for _, n := range missing {
		p := filepath.Join(dir, n)
		if err := writeNew(p, files[n]); err != nil {
			return written, err
		}
		written = append(written, p)
	}
	return written, nil
}

// newKeyFiles makes every key file's content afresh.
func newKeyFiles(origin string, now time.Time) (map[string][]byte, error) {
	data, index, leaf := make([]byte, KeySize), make([]byte, KeySize), make([]byte, KeySize)
	for _, b := range [][]byte{data, index, leaf} {
		if _, err := rand.Read(b); err != nil {
			return nil, err
		}
	}
	id := "d" + now.UTC().Format("20060102") + "-" + hex.EncodeToString(sha256Sum(data)[:4])
	doc, err := json.MarshalIndent(dataKeysDoc{Active: id, Keys: map[string]string{id: base64.StdEncoding.EncodeToString(data)}}, "", "  ")
	if err != nil {
		return nil, err
	}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, err
	}
	skey, vkey, err := translog.GenerateKey(origin)
	if err != nil {
		return nil, fmt.Errorf("log key named %q: %w", origin, err)
	}
	return map[string][]byte{
		DataKeysFile:       append(doc, '\n'),
		IndexKeyFile:       []byte(base64.StdEncoding.EncodeToString(index) + "\n"),
		ReceiptSigningFile: pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}),
		LogLeafKeyFile:     []byte(base64.StdEncoding.EncodeToString(leaf) + "\n"),
		LogSigningFile:     []byte(skey + "\n"),
		LogVerifierFile:    []byte(vkey + "\n"),
	}, nil
}

func writeNew(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("write key: %w", err)
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return fmt.Errorf("write key %s: %w", path, err)
	}
	return f.Close()
}

// LoadKeyring reads the data and blind-index keys from dir, or from the
// environment (EnvDataKey, EnvIndexKey) where set, which wins over a file.
// Errors name what is missing, never a key.
func LoadKeyring(dir string, getenv func(string) string) (*Keyring, error) {
	var (
		data   map[string][]byte
		active string
		index  []byte
		err    error
	)
	if v := getenv(EnvDataKey); v != "" {
		key, err := decodeKey(v)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", EnvDataKey, err)
		}
		data, active = map[string][]byte{"env": key}, "env"
	} else {
		if dir == "" {
			return nil, fmt.Errorf("no data-encryption key: set DEGREEGATE_KEYS_DIR (see `degreegate keys init`) or %s", EnvDataKey)
		}
		if data, active, err = readDataKeys(filepath.Join(dir, DataKeysFile)); err != nil {
			return nil, err
		}
	}
	if v := getenv(EnvIndexKey); v != "" {
		if index, err = decodeKey(v); err != nil {
			return nil, fmt.Errorf("%s: %w", EnvIndexKey, err)
		}
	} else {
		if dir == "" {
			return nil, fmt.Errorf("no blind-index key: set DEGREEGATE_KEYS_DIR (see `degreegate keys init`) or %s", EnvIndexKey)
		}
		p := filepath.Join(dir, IndexKeyFile)
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("blind-index key: %w", err)
		}
		if index, err = decodeKey(string(b)); err != nil {
			return nil, fmt.Errorf("blind-index key %s: %w", p, err)
		}
	}
	return NewKeyring(data, active, index)
}

func readDataKeys(path string) (map[string][]byte, string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, "", fmt.Errorf("data-encryption keys: %w", err)
	}
	var doc dataKeysDoc
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, "", fmt.Errorf("data-encryption keys %s: not valid JSON", path)
	}
	if doc.Active == "" || len(doc.Keys) == 0 {
		return nil, "", fmt.Errorf("data-encryption keys %s: want an active key id and at least one key", path)
	}
	keys := make(map[string][]byte, len(doc.Keys))
	for id, v := range doc.Keys {
		k, err := decodeKey(v)
		if err != nil {
			return nil, "", fmt.Errorf("data-encryption keys %s: key %q: %w", path, id, err)
		}
		keys[id] = k
	}
	return keys, doc.Active, nil
}

func decodeKey(s string) ([]byte, error) {
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s))
	if err != nil {
		return nil, errors.New("not base64")
	}
	if len(b) != KeySize {
		return nil, fmt.Errorf("want %d bytes, have %d", KeySize, len(b))
	}
	return b, nil
}

// LoadReceiptKey reads the Ed25519 receipt-signing key from dir.
func LoadReceiptKey(dir string) (ed25519.PrivateKey, error) {
	p := filepath.Join(dir, ReceiptSigningFile)
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("receipt-signing key: %w", err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, fmt.Errorf("receipt-signing key %s: not PEM", p)
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("receipt-signing key %s: %w", p, err)
	}
	ed, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("receipt-signing key %s: not Ed25519", p)
	}
	return ed, nil
}

func sha256Sum(b []byte) []byte {
	s := sha256.Sum256(b)
	return s[:]
}

// LoadLogKey reads the log's leaf key from dir, or from EnvLogKey where
// set. Errors name what is missing, never a key.
func LoadLogKey(dir string, getenv func(string) string) (*LogKey, error) {
	if v := getenv(EnvLogKey); v != "" {
		key, err := decodeKey(v)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", EnvLogKey, err)
		}
		return NewLogKey(key)
	}
	if dir == "" {
		return nil, fmt.Errorf("no log leaf key: set DEGREEGATE_KEYS_DIR (see `degreegate keys init`) or %s", EnvLogKey)
	}
	p := filepath.Join(dir, LogLeafKeyFile)
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("log leaf key: %w (a keys folder made before the log: run `degreegate keys init --dir %s` to add the log's keys)", err, dir)
	}
	key, err := decodeKey(string(b))
	if err != nil {
		return nil, fmt.Errorf("log leaf key %s: %w", p, err)
	}
	return NewLogKey(key)
}

// LoadLogSigner reads the log's signer key from dir.
func LoadLogSigner(dir string) (*translog.Signer, error) {
	p := filepath.Join(dir, LogSigningFile)
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("log signing key: %w (a keys folder made before the log: run `degreegate keys init --dir %s` to add the log's keys)", err, dir)
	}
	s, err := translog.NewSigner(strings.TrimSpace(string(b)))
	if err != nil {
		return nil, fmt.Errorf("log signing key %s: not a signer key", p)
	}
	return s, nil
}

// LoadLogVerifier reads a log's verifier key from path: the keys
// folder's LogVerifierFile, or a copy a witness or auditor was given.
func LoadLogVerifier(path string) (*translog.Verifier, string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, "", fmt.Errorf("log verifier key: %w", err)
	}
	vkey := strings.TrimSpace(string(b))
	v, err := translog.NewVerifier(vkey)
	if err != nil {
		return nil, "", fmt.Errorf("log verifier key %s: %w", path, err)
	}
	return v, vkey, nil
}
