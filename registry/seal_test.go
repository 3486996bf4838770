package registry

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func testKey(t testing.TB) []byte {
	t.Helper()
	k := make([]byte, KeySize)
	if _, err := rand.Read(k); err != nil {
		t.Fatal(err)
	}
	return k
}

func sealTestRecord() Record {
	return Record{
		Kind: KindBachelor, Name: "阿依古丽·买买提", Gender: GenderFemale, IDType: IDResident,
		IDNumber: "11010519491231002X", Phone: "13800138000", Email: "someone@example.com",
		CertificateNumber: "1000142020123456", UnitCode: "10001", ThesisKeywords: []string{"a", "b"},
		BirthDate: NewDate(1949, 12, 31), EnrolmentMonth: NewMonth(2016, 9), Status: StatusFiled,
	}
}

func TestSealOpenRoundTrip(t *testing.T) {
	k, err := NewKeyring(map[string][]byte{"k1": testKey(t)}, "k1", testKey(t))
	if err != nil {
		t.Fatal(err)
	}
	r := sealTestRecord()
	s, err := k.Seal(r)
	if err != nil {
		t.Fatal(err)
	}
	if s.IDNumber != "" || s.Phone != "" || s.Email != "" {
		t.Fatalf("sealed record keeps direct identifiers in clear")
	}
	body, _ := json.Marshal(s)
	for _, secret := range []string{r.IDNumber, r.Phone, r.Email} {
		if bytes.Contains(body, []byte(secret)) || bytes.Contains(s.Secret, []byte(secret)) {
			t.Errorf("sealed form contains a direct identifier in clear")
		}
	}
	if s.KeyID != "k1" || len(s.PersonIndex) != 32 || len(s.Digest) != 32 {
		t.Fatalf("sealed metadata: key %q, index %d bytes, digest %d bytes", s.KeyID, len(s.PersonIndex), len(s.Digest))
	}
	back, err := k.Open(s)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(r)
	b, _ := json.Marshal(back)
	if !bytes.Equal(a, b) {
		t.Fatalf("round trip changed the record:\n%s\n%s", a, b)
	}
}

func TestSealDigestAndIndex(t *testing.T) {
	idx := testKey(t)
	k, _ := NewKeyring(map[string][]byte{"k1": testKey(t)}, "k1", idx)
	r := sealTestRecord()
	s1, _ := k.Seal(r)
	s2, _ := k.Seal(r)
	if bytes.Equal(s1.Secret, s2.Secret) {
		t.Error("two seals of one record share a ciphertext: nonce reused")
	}
	if !bytes.Equal(s1.Digest, s2.Digest) || !bytes.Equal(s1.PersonIndex, s2.PersonIndex) {
		t.Error("digest or person index not stable")
	}
	r2 := r
	r2.Phone = "13900139000"
	s3, _ := k.Seal(r2)
	if bytes.Equal(s1.Digest, s3.Digest) {
		t.Error("a changed phone leaves the digest unchanged")
	}
	if !bytes.Equal(s1.PersonIndex, s3.PersonIndex) {
		t.Error("person index depends on more than the identity document")
	}
	if bytes.Equal(k.PersonIndex(IDResident, r.IDNumber), k.PersonIndex(IDPassport, r.IDNumber)) {
		t.Error("person index ignores the document type")
	}
	other, _ := NewKeyring(map[string][]byte{"k1": testKey(t)}, "k1", testKey(t))
	if bytes.Equal(other.PersonIndex(IDResident, r.IDNumber), s1.PersonIndex) {
		t.Error("person index does not depend on the key")
	}
}

func TestOpenRejectsMovedOrTamperedCiphertext(t *testing.T) {
	k, _ := NewKeyring(map[string][]byte{"k1": testKey(t)}, "k1", testKey(t))
	s, _ := k.Seal(sealTestRecord())

	moved := s
	moved.CertificateNumber = "1000142020999999"
	if _, err := k.Open(moved); err == nil {
		t.Error("ciphertext moved to another certificate still opens")
	}
	flipped := s
	flipped.Secret = append([]byte(nil), s.Secret...)
	flipped.Secret[len(flipped.Secret)-1] ^= 1
	if _, err := k.Open(flipped); err == nil {
		t.Error("tampered ciphertext opens")
	}
	unknown := s
	unknown.KeyID = "gone"
	if _, err := k.Open(unknown); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("unknown key id: got %v", err)
	}
	short := s
	short.Secret = s.Secret[:4]
	if _, err := k.Open(short); err == nil {
		t.Error("truncated ciphertext opens")
	}
}

func TestKeyRotationKeepsOldRecordsReadable(t *testing.T) {
	old, fresh, idx := testKey(t), testKey(t), testKey(t)
	k1, _ := NewKeyring(map[string][]byte{"2025": old}, "2025", idx)
	s, _ := k1.Seal(sealTestRecord())
	k2, err := NewKeyring(map[string][]byte{"2025": old, "2026": fresh}, "2026", idx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := k2.Open(s); err != nil {
		t.Fatalf("record sealed under the old key no longer opens: %v", err)
	}
	s2, _ := k2.Seal(sealTestRecord())
	if s2.KeyID != "2026" {
		t.Errorf("new seals use key %q, want the active 2026", s2.KeyID)
	}
	if !bytes.Equal(s.PersonIndex, s2.PersonIndex) {
		t.Error("rotating the data key changed the blind index")
	}
}

func TestNewKeyringRejectsBadKeys(t *testing.T) {
	good := testKey(t)
	cases := map[string]struct {
		keys   map[string][]byte
		active string
		index  []byte
	}{
		"short data key":     {map[string][]byte{"a": good[:16]}, "a", good},
		"short index key":    {map[string][]byte{"a": good}, "a", good[:31]},
		"missing active":     {map[string][]byte{"a": good}, "b", good},
		"no data key at all": {nil, "a", good},
	}
	for name, c := range cases {
		if _, err := NewKeyring(c.keys, c.active, c.index); err == nil {
			t.Errorf("%s: accepted", name)
		} else if strings.Contains(err.Error(), string(good)) {
			t.Errorf("%s: error reveals key material", name)
		}
	}
}

func BenchmarkSeal(b *testing.B) {
	k, _ := NewKeyring(map[string][]byte{"k1": testKey(b)}, "k1", testKey(b))
	r := sealTestRecord()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := k.Seal(r); err != nil {
			b.Fatal(err)
		}
	}
}
