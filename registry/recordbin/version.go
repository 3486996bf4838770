package recordbin

import (
	"fmt"
	"time"

	"github.com/degreegate/degreegate/registry"
)

// versionFormat1 starts a version encoding: the record body (AppendRecord),
// then KeyID, Secret, PersonIndex and Digest (byte fields as uvarint
// length and bytes), the version number, and the change's actor, reason
// and time (Unix seconds and nanoseconds, so the zero time round-trips).
// It is not stored anywhere lasting: caches rebuild it from the store.
const versionFormat1 byte = 1

// AppendVersion appends v's encoding to dst.
func AppendVersion(dst []byte, v *registry.Version) []byte {
	e := encoder{b: append(dst, versionFormat1)}
	e.record(&v.Record)
	e.str(v.KeyID)
	e.str(string(v.Secret))
	e.str(string(v.PersonIndex))
	e.str(string(v.Digest))
	e.int(v.Version)
	e.str(v.Change.Actor)
	e.str(v.Change.Reason)
	e.int(int(v.Change.At.Unix()))
	e.int(v.Change.At.Nanosecond())
	return e.b
}

// DecodeVersion decodes what AppendVersion made into v. Its strings share
// one copy of b and its byte fields one more: two allocations, whatever
// the record holds (and one per thesis keyword list).
func DecodeVersion(b []byte, v *registry.Version) error {
	if len(b) == 0 || b[0] != versionFormat1 {
		return fmt.Errorf("%w: not a version encoding", ErrMalformed)
	}
	d := newDecoder(b[1:])
	d.record(&v.Record)
	v.KeyID = d.str("key_id")
	secret, index, digest := d.str("secret"), d.str("person_index"), d.str("digest")
	v.Version = d.int("version")
	v.Change.Actor = d.str("change_actor")
	v.Change.Reason = d.str("change_reason")
	sec, nsec := d.int("change_at"), d.int("change_at")
	if err := d.end(); err != nil {
		return err
	}
	if nsec < 0 || nsec >= 1e9 {
		return fmt.Errorf("%w: field change_at: bad nanoseconds", ErrMalformed)
	}
	v.Change.At = time.Unix(int64(sec), int64(nsec))
	raw := make([]byte, 0, len(secret)+len(index)+len(digest))
	v.Secret, raw = split(raw, secret)
	v.PersonIndex, raw = split(raw, index)
	v.Digest, _ = split(raw, digest)
	return nil
}

// split appends s to raw and returns the appended part, capped so that
// appending to it cannot overwrite the next field (nil when s is empty),
// and raw grown by it.
func split(raw []byte, s string) ([]byte, []byte) {
	if s == "" {
		return nil, raw
	}
	start := len(raw)
	raw = append(raw, s...)
	return raw[start:len(raw):len(raw)], raw
}
