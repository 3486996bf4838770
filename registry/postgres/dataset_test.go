package postgres

import (
	"bytes"
	"context"
	"slices"
	"testing"
	"time"

	"github.com/degreegate/degreegate/registry"
	"github.com/degreegate/degreegate/registry/registrytest"
)

// TestScanBulkMatchesScan: the bulk scan sees exactly the newest
// versions Scan sees, filters included, with record and person index.
func TestScanBulkMatchesScan(t *testing.T) {
	testDatabaseURL(t)
	s, _ := newStore(t)
	ctx := context.Background()
	change := registry.Change{Actor: "test", At: time.Now()}
	var batch []registry.Sealed
	for i := range 40 {
		batch = append(batch, registrytest.SampleSealed(i))
	}
	if _, err := s.Insert(ctx, batch, change); err != nil {
		t.Fatal(err)
	}
	next := batch[3]
	next.Status, next.RevokedOn, next.RevocationResolution, next.RevocationReason =
		registry.StatusRevoked, registry.NewDate(2024, 1, 2), "决议", "reason"
	if _, err := s.Append(ctx, 1, next, change); err != nil {
		t.Fatal(err)
	}
	type seen struct {
		cert    string
		version int
		person  []byte
		status  registry.Status
	}
	collect := func(scan func(context.Context, registry.Filter, func(registry.Version) error) error, f registry.Filter) []seen {
		var out []seen
		if err := scan(ctx, f, func(v registry.Version) error {
			out = append(out, seen{v.CertificateNumber, v.Version, v.PersonIndex, v.Status})
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		slices.SortFunc(out, func(a, b seen) int { return bytes.Compare([]byte(a.cert), []byte(b.cert)) })
		return out
	}
	for _, f := range []registry.Filter{{}, {Statuses: []registry.Status{registry.StatusRevoked}}, {ConferralYearFrom: 2015}} {
		want, got := collect(s.Scan, f), collect(s.ScanBulk, f)
		if len(want) == 0 && f.ConferralYearFrom == 0 {
			t.Fatalf("filter %+v selects nothing: the test proves nothing", f)
		}
		if !slices.EqualFunc(got, want, func(a, b seen) bool {
			return a.cert == b.cert && a.version == b.version && bytes.Equal(a.person, b.person) && a.status == b.status
		}) {
			t.Errorf("filter %+v: ScanBulk saw %d versions, Scan %d, or different ones", f, len(got), len(want))
		}
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if err := s.ScanBulk(cancelled, registry.Filter{}, func(registry.Version) error { return nil }); err == nil {
		t.Error("ScanBulk on a cancelled context succeeded")
	}
}
