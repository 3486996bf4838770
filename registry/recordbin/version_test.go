package recordbin

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/degreegate/degreegate/registry"
	"github.com/degreegate/degreegate/registry/registrytest"
)

func sampleVersion(i int) registry.Version {
	return registry.Version{
		Sealed:  registrytest.SampleSealed(i),
		Version: i + 1,
		Change: registry.Change{
			Actor:  fmt.Sprintf("office:%d", i),
			Reason: "导入 import",
			At:     time.Date(2026, 11, 29, 8, 30, i, 123456789, time.UTC),
		},
	}
}

// sameVersion compares v and w field by field, times as instants: a
// decoded time is in the local zone.
func sameVersion(t *testing.T, got, want registry.Version) {
	t.Helper()
	if !got.Change.At.Equal(want.Change.At) {
		t.Errorf("change time %v, want %v", got.Change.At, want.Change.At)
	}
	got.Change.At, want.Change.At = time.Time{}, time.Time{}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("round trip changed the version:\n got %+v\nwant %+v", got, want)
	}
}

func TestVersionRoundTrip(t *testing.T) {
	noSecrets := sampleVersion(4)
	noSecrets.KeyID, noSecrets.Secret, noSecrets.PersonIndex, noSecrets.Digest = "", nil, nil, nil
	for name, v := range map[string]registry.Version{
		"zero":             {},
		"sample":           sampleVersion(0),
		"revoked":          sampleVersion(29),
		"no sealed fields": noSecrets,
		"before 1970":      {Change: registry.Change{At: time.Date(1901, 1, 1, 0, 0, 0, 1, time.UTC)}},
	} {
		t.Run(name, func(t *testing.T) {
			var got registry.Version
			if err := DecodeVersion(AppendVersion(nil, &v), &got); err != nil {
				t.Fatal(err)
			}
			sameVersion(t, got, v)
		})
	}
}

// TestVersionBytesAreNotShared: a caller that appends to one decoded byte
// field must not overwrite the next.
func TestVersionBytesAreNotShared(t *testing.T) {
	v := sampleVersion(2)
	var got registry.Version
	if err := DecodeVersion(AppendVersion(nil, &v), &got); err != nil {
		t.Fatal(err)
	}
	_ = append(got.Secret, 0xAA, 0xBB, 0xCC)
	_ = append(got.PersonIndex, 0xAA, 0xBB, 0xCC)
	if !bytes.Equal(got.PersonIndex, v.PersonIndex) || !bytes.Equal(got.Digest, v.Digest) {
		t.Fatal("appending to a decoded field changed the next one")
	}
}

func TestVersionRejectsCorruption(t *testing.T) {
	v := sampleVersion(5)
	enc := AppendVersion(nil, &v)
	cases := map[string][]byte{
		"empty":          nil,
		"unknown format": append([]byte{99}, enc[1:]...),
		"record only":    append([]byte{versionFormat1}, AppendRecord(nil, &v.Record)...),
		"trailing byte":  append(bytes.Clone(enc), 0),
	}
	for n := 1; n < len(enc); n += 7 {
		cases[fmt.Sprintf("cut to %d bytes", n)] = enc[:n]
	}
	for name, b := range cases {
		var got registry.Version
		if err := DecodeVersion(b, &got); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: err = %v, want ErrMalformed", name, err)
		}
	}
}

// FuzzDecodeVersion: whatever DecodeVersion accepts re-encodes to the
// same version, and nothing makes it panic.
func FuzzDecodeVersion(f *testing.F) {
	for _, i := range []int{0, 1, 9, 29} {
		v := sampleVersion(i)
		f.Add(AppendVersion(nil, &v))
	}
	f.Add(AppendVersion(nil, &registry.Version{}))
	f.Fuzz(func(t *testing.T, b []byte) {
		var v registry.Version
		if err := DecodeVersion(b, &v); err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error does not wrap ErrMalformed: %v", err)
			}
			return
		}
		var again registry.Version
		if err := DecodeVersion(AppendVersion(nil, &v), &again); err != nil {
			t.Fatalf("re-encoding of an accepted version does not decode: %v", err)
		}
		sameVersion(t, again, v)
	})
}
