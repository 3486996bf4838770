package registry

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"sync"
)

// KeySize is the length of every data and index key: 256 bits.
const KeySize = 32

// ErrUnknownKey: a sealed record names a data key the keyring lacks.
var ErrUnknownKey = errors.New("unknown data key")

// Keyring protects direct identifiers at rest. The ID number, phone and
// e-mail of a record are encrypted together with AES-256-GCM under the
// active data key (older keys stay readable, so keys rotate without
// re-encrypting the registry); the person is found through a blind index,
// HMAC-SHA256 under a separate index key, so the database can match an ID
// number without ever holding it. Both keys live outside the database.
type Keyring struct {
	active string
	aeads  map[string]cipher.AEAD
	index  []byte
	macs   sync.Pool // of hash.Hash keyed with index
}

// NewKeyring builds a keyring from data keys by id, the id of the key new
// records are sealed with, and the blind-index key.
func NewKeyring(dataKeys map[string][]byte, active string, indexKey []byte) (*Keyring, error) {
	if len(indexKey) != KeySize {
		return nil, fmt.Errorf("blind-index key: want %d bytes, have %d", KeySize, len(indexKey))
	}
	if _, ok := dataKeys[active]; !ok {
		return nil, fmt.Errorf("active data key %q: %w", active, ErrUnknownKey)
	}
	k := &Keyring{active: active, aeads: make(map[string]cipher.AEAD, len(dataKeys)), index: append([]byte(nil), indexKey...)}
	for id, key := range dataKeys {
		if len(key) != KeySize {
			return nil, fmt.Errorf("data key %q: want %d bytes, have %d", id, KeySize, len(key))
		}
		block, err := aes.NewCipher(key)
		if err != nil {
			return nil, fmt.Errorf("data key %q: %w", id, err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("data key %q: %w", id, err)
		}
		k.aeads[id] = aead
	}
	k.macs.New = func() any { return hmac.New(sha256.New, k.index) }
	return k, nil
}

// NewRandomKeyring makes a keyring with fresh random keys (dev mode, tests).
func NewRandomKeyring() (*Keyring, error) {
	data, index := make([]byte, KeySize), make([]byte, KeySize)
	if _, err := rand.Read(data); err != nil {
		return nil, err
	}
	if _, err := rand.Read(index); err != nil {
		return nil, err
	}
	return NewKeyring(map[string][]byte{"dev": data}, "dev", index)
}

// ActiveKeyID is the id of the key that seals new records.
func (k *Keyring) ActiveKeyID() string { return k.active }

// Domain-separation tags, so a person index can never equal a digest.
const (
	tagPerson = "degreegate/person-index/v1\x00"
	tagDigest = "degreegate/record-digest/v1\x00"
)

// PersonIndex is the blind index of an identity document.
func (k *Keyring) PersonIndex(t IDType, number string) []byte {
	return k.mac(tagPerson, []byte(t), []byte(number))
}

func (k *Keyring) mac(tag string, parts ...[]byte) []byte {
	m := k.macs.Get().(hash.Hash)
	defer k.macs.Put(m)
	m.Reset()
	m.Write([]byte(tag))
	var n [4]byte
	for _, p := range parts {
		binary.BigEndian.PutUint32(n[:], uint32(len(p)))
		m.Write(n[:])
		m.Write(p)
	}
	return m.Sum(nil)
}

// Digest is a keyed hash of the whole clear record: equal records, equal
// digests; keyed, so a digest cannot be matched against guessed records.
func (k *Keyring) Digest(r Record) ([]byte, error) {
	clear, err := json.Marshal(&r)
	if err != nil {
		return nil, fmt.Errorf("digest: encode record: %w", err)
	}
	return k.mac(tagDigest, clear), nil
}

// identifiers are the fields sealed together.
type identifiers struct {
	IDNumber string `json:"i"`
	Phone    string `json:"p,omitempty"`
	Email    string `json:"e,omitempty"`
}

// Seal encrypts r's direct identifiers and computes its blind index and
// digest. The ciphertext is bound to the certificate number (GCM
// additional data), so it cannot be moved to another record unnoticed.
func (k *Keyring) Seal(r Record) (Sealed, error) {
	digest, err := k.Digest(r)
	if err != nil {
		return Sealed{}, err
	}
	plain, err := json.Marshal(identifiers{IDNumber: r.IDNumber, Phone: r.Phone, Email: r.Email})
	if err != nil {
		return Sealed{}, fmt.Errorf("seal: encode identifiers: %w", err)
	}
	aead := k.aeads[k.active]
	out := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plain)+aead.Overhead())
	if _, err := rand.Read(out); err != nil {
		return Sealed{}, fmt.Errorf("seal: nonce: %w", err)
	}
	out = aead.Seal(out, out, plain, k.additionalData(r.CertificateNumber))
	s := Sealed{
		Record:      r,
		KeyID:       k.active,
		Secret:      out,
		PersonIndex: k.PersonIndex(r.IDType, r.IDNumber),
		Digest:      digest,
	}
	s.IDNumber, s.Phone, s.Email = "", "", ""
	return s, nil
}

// Open decrypts a sealed record back into the full record.
func (k *Keyring) Open(s Sealed) (Record, error) {
	aead, ok := k.aeads[s.KeyID]
	if !ok {
		return Record{}, fmt.Errorf("open record: key %q: %w", s.KeyID, ErrUnknownKey)
	}
	if len(s.Secret) < aead.NonceSize() {
		return Record{}, errors.New("open record: ciphertext too short")
	}
	nonce, ct := s.Secret[:aead.NonceSize()], s.Secret[aead.NonceSize():]
	plain, err := aead.Open(nil, nonce, ct, k.additionalData(s.CertificateNumber))
	if err != nil {
		return Record{}, fmt.Errorf("open record: %w", err)
	}
	var ids identifiers
	if err := json.Unmarshal(plain, &ids); err != nil {
		return Record{}, fmt.Errorf("open record: decode identifiers: %w", err)
	}
	r := s.Record
	r.IDNumber, r.Phone, r.Email = ids.IDNumber, ids.Phone, ids.Email
	return r, nil
}

func (k *Keyring) additionalData(certificateNumber string) []byte {
	return []byte("degreegate/record/v1\x00" + certificateNumber)
}

// SealDatasetKey encrypts a research dataset's pseudonym key under the
// active data key, bound to the dataset id (GCM additional data): the
// database keeps only the result, and a sealed key copied onto another
// dataset no longer opens, so a trace cannot be made to name the wrong
// dataset.
func (k *Keyring) SealDatasetKey(datasetID string, key []byte) (keyID string, sealed []byte, err error) {
	if len(key) != DatasetKeySize {
		return "", nil, fmt.Errorf("seal dataset key: want %d bytes, have %d", DatasetKeySize, len(key))
	}
	aead := k.aeads[k.active]
	out := make([]byte, aead.NonceSize(), aead.NonceSize()+len(key)+aead.Overhead())
	if _, err := rand.Read(out); err != nil {
		return "", nil, fmt.Errorf("seal dataset key: nonce: %w", err)
	}
	return k.active, aead.Seal(out, out, key, datasetKeyData(datasetID)), nil
}

// OpenDatasetKey decrypts what SealDatasetKey returned for datasetID.
func (k *Keyring) OpenDatasetKey(datasetID, keyID string, sealed []byte) ([]byte, error) {
	aead, ok := k.aeads[keyID]
	if !ok {
		return nil, fmt.Errorf("open dataset key: key %q: %w", keyID, ErrUnknownKey)
	}
	if len(sealed) < aead.NonceSize() {
		return nil, errors.New("open dataset key: ciphertext too short")
	}
	key, err := aead.Open(nil, sealed[:aead.NonceSize()], sealed[aead.NonceSize():], datasetKeyData(datasetID))
	if err != nil {
		return nil, fmt.Errorf("open dataset key: %w", err)
	}
	return key, nil
}

func datasetKeyData(datasetID string) []byte {
	return []byte("degreegate/dataset-key/v1\x00" + datasetID)
}
