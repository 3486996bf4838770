package registrytest

import (
	"bytes"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/degreegate/degreegate/registry"
)

// diffRecord names every field of Record that differs between got and
// want. It walks the struct by reflection so that a field added to Record
// later is compared without anyone remembering to add it here. A nil and
// an empty slice count as equal: SQL drivers cannot tell them apart.
func diffRecord(got, want registry.Record) []string {
	var diffs []string
	gv, wv := reflect.ValueOf(got), reflect.ValueOf(want)
	rt := gv.Type()
	for i := range rt.NumField() {
		f := rt.Field(i)
		g, w := gv.Field(i), wv.Field(i)
		var equal bool
		switch {
		case f.Type.Kind() == reflect.Slice && f.Type.Elem().Kind() == reflect.String:
			equal = slices.Equal(g.Interface().([]string), w.Interface().([]string))
		case f.Type.Comparable():
			equal = g.Interface() == w.Interface()
		default:
			equal = reflect.DeepEqual(g.Interface(), w.Interface())
		}
		if !equal {
			diffs = append(diffs, fmt.Sprintf("%s: got %v, want %v", f.Name, g.Interface(), w.Interface()))
		}
	}
	return diffs
}

// diffSealed adds the sealed parts to diffRecord. Byte contents are not
// printed: they stand for personal data.
func diffSealed(got, want registry.Sealed) []string {
	diffs := diffRecord(got.Record, want.Record)
	if got.KeyID != want.KeyID {
		diffs = append(diffs, fmt.Sprintf("KeyID: got %q, want %q", got.KeyID, want.KeyID))
	}
	for _, b := range []struct {
		name      string
		got, want []byte
	}{
		{"Secret", got.Secret, want.Secret},
		{"PersonIndex", got.PersonIndex, want.PersonIndex},
		{"Digest", got.Digest, want.Digest},
	} {
		if !bytes.Equal(b.got, b.want) {
			diffs = append(diffs, fmt.Sprintf("%s: got %d bytes, want %d bytes with other content", b.name, len(b.got), len(b.want)))
		}
	}
	return diffs
}

// storedTime is what a store must return for a time it was given: the
// same instant cut to microseconds (PostgreSQL's precision, and what
// registry.Link does), in UTC.
func storedTime(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// diffTime reports a time that is not the stored form of want.
func diffTime(field string, got, want time.Time) []string {
	w := storedTime(want)
	var diffs []string
	if !got.Equal(w) {
		diffs = append(diffs, fmt.Sprintf("%s: got %s, want %s", field, got.Format(time.RFC3339Nano), w.Format(time.RFC3339Nano)))
	}
	if got.Location() != time.UTC {
		diffs = append(diffs, fmt.Sprintf("%s: got location %q, want UTC", field, got.Location()))
	}
	return diffs
}

// diffVersion compares a stored version with the sealed record, version
// number and change it should hold.
func diffVersion(got registry.Version, want registry.Sealed, version int, change registry.Change) []string {
	diffs := diffSealed(got.Sealed, want)
	if got.Version != version {
		diffs = append(diffs, fmt.Sprintf("Version: got %d, want %d", got.Version, version))
	}
	if got.Change.Actor != change.Actor {
		diffs = append(diffs, fmt.Sprintf("Change.Actor: got %q, want %q", got.Change.Actor, change.Actor))
	}
	if got.Change.Reason != change.Reason {
		diffs = append(diffs, fmt.Sprintf("Change.Reason: got %q, want %q", got.Change.Reason, change.Reason))
	}
	return append(diffs, diffTime("Change.At", got.Change.At, change.At)...)
}

// checkVersion fails t when got is not version `version` of want, made by change.
func checkVersion(t *testing.T, where string, got registry.Version, want registry.Sealed, version int, change registry.Change) {
	t.Helper()
	for _, d := range diffVersion(got, want, version, change) {
		t.Errorf("%s: certificate %s: %s", where, want.CertificateNumber, d)
	}
}

// diffAudit compares a stored audit entry with the one that was linked.
func diffAudit(got, want registry.AuditEntry) []string {
	var diffs []string
	str := func(name, g, w string) {
		if g != w {
			diffs = append(diffs, fmt.Sprintf("%s: got %q, want %q", name, g, w))
		}
	}
	if got.Seq != want.Seq {
		diffs = append(diffs, fmt.Sprintf("Seq: got %d, want %d", got.Seq, want.Seq))
	}
	str("Actor", got.Actor, want.Actor)
	str("Action", got.Action, want.Action)
	str("RecordRef", got.RecordRef, want.RecordRef)
	str("Purpose", got.Purpose, want.Purpose)
	str("Detail", got.Detail, want.Detail)
	if !bytes.Equal(got.PrevHash, want.PrevHash) {
		diffs = append(diffs, "PrevHash differs")
	}
	if !bytes.Equal(got.Hash, want.Hash) {
		diffs = append(diffs, "Hash differs")
	}
	return append(diffs, diffTime("At", got.At, want.At)...)
}
