package registrytest

import (
	"reflect"
	"slices"
	"strconv"
	"testing"

	"github.com/degreegate/degreegate/registry"
)

// sealedOnly are the Record fields a Sealed keeps inside Secret only.
var sealedOnly = []string{"IDNumber", "Phone", "Email"}

// revocationOnly are set on revoked samples only.
var revocationOnly = []string{"RevokedOn", "RevocationResolution", "RevocationReason"}

func sampleIndices() []int {
	idx := []int{SampleMax - 1, SampleMax - 2, SampleMax / 2}
	for i := range 5000 {
		idx = append(idx, i)
	}
	for i := 0; i < SampleMax; i += SampleMax / 997 {
		idx = append(idx, i)
	}
	return idx
}

func TestSampleSealedFields(t *testing.T) {
	rt := reflect.TypeFor[registry.Record]()
	everSet := map[string]bool{}
	for _, i := range sampleIndices() {
		s := SampleSealed(i)
		v := reflect.ValueOf(s.Record)
		revoked := s.Status == registry.StatusRevoked
		for f := range rt.NumField() {
			name := rt.Field(f).Name
			zero := v.Field(f).IsZero()
			if !zero {
				everSet[name] = true
			}
			switch {
			case slices.Contains(sealedOnly, name):
				if !zero {
					t.Errorf("sample %d: %s is set in clear, want it only inside Secret", i, name)
				}
			case slices.Contains(revocationOnly, name):
				if zero == revoked {
					t.Errorf("sample %d: %s set = %v, status %s", i, name, !zero, s.Status)
				}
			case rt.Field(f).Type.Kind() == reflect.Bool:
				// false is a value too; everSet below wants true somewhere.
			case zero:
				t.Errorf("sample %d: %s is not set", i, name)
			}
		}
		if len(s.Secret) != 80 || len(s.PersonIndex) != 32 || len(s.Digest) != 32 || s.KeyID == "" {
			t.Errorf("sample %d: sizes Secret %d, PersonIndex %d, Digest %d, KeyID %q", i, len(s.Secret), len(s.PersonIndex), len(s.Digest), s.KeyID)
		}
	}
	for f := range rt.NumField() {
		name := rt.Field(f).Name
		if !everSet[name] && !slices.Contains(sealedOnly, name) {
			t.Errorf("no sample sets %s", name)
		}
	}
}

func TestSampleSealedCertificateNumbers(t *testing.T) {
	seen := map[string]int{}
	digests := map[string]int{}
	for _, i := range sampleIndices() {
		s := SampleSealed(i)
		c := s.CertificateNumber
		if len(c) != 16 {
			t.Fatalf("sample %d: certificate number has %d characters, want 16", i, len(c))
		}
		if _, err := strconv.ParseUint(c, 10, 64); err != nil {
			t.Errorf("sample %d: certificate number is not all digits", i)
		}
		if c[:5] != s.UnitCode || c[5] != s.DegreeLevel.CertificateDigit() || c[6:10] != strconv.Itoa(s.ConferralDate.Year()) {
			t.Errorf("sample %d: certificate number %s does not match unit %s, level %s, year %d", i, c, s.UnitCode, s.DegreeLevel, s.ConferralDate.Year())
		}
		if j, dup := seen[c]; dup && j != i {
			t.Errorf("samples %d and %d share certificate number %s", j, i, c)
		}
		seen[c] = i
		if j, dup := digests[string(s.Digest)]; dup && j != i {
			t.Errorf("samples %d and %d share a digest", j, i)
		}
		digests[string(s.Digest)] = i
	}
}

func TestSampleSealedDeterministicAndPersons(t *testing.T) {
	for _, i := range []int{0, 1, 2, 3, 98, 99, 12345} {
		a, b := SampleSealed(i), SampleSealed(i)
		if d := diffSealed(a, b); len(d) > 0 {
			t.Errorf("sample %d differs between calls: %v", i, d)
		}
		even := i &^ 1
		p, q := SampleSealed(even), SampleSealed(even+1)
		if !slices.Equal(p.PersonIndex, q.PersonIndex) || p.Name != q.Name || p.BirthDate != q.BirthDate {
			t.Errorf("samples %d and %d should be the same person", even, even+1)
		}
		if r := SampleSealed(even + 2); slices.Equal(p.PersonIndex, r.PersonIndex) {
			t.Errorf("samples %d and %d should be different people", even, even+2)
		}
	}
}

func TestSampleSealedRange(t *testing.T) {
	for _, i := range []int{-1, SampleMax} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("SampleSealed(%d) did not panic", i)
				}
			}()
			SampleSealed(i)
		}()
	}
}
