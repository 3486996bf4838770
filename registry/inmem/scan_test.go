package inmem

import (
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/degreegate/degreegate/registry"
	"github.com/degreegate/degreegate/registry/registrytest"
)

var testChange = registry.Change{Actor: "office:test", Reason: "import", At: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)}

// shuffledSamples returns samples 0..n-1 in a fixed random order, so that
// filing order and certificate-number order differ.
func shuffledSamples(n int) []registry.Sealed {
	recs := make([]registry.Sealed, n)
	for i := range recs {
		recs[i] = registrytest.SampleSealed(i)
	}
	rng := rand.New(rand.NewPCG(7, 7))
	rng.Shuffle(n, func(i, j int) { recs[i], recs[j] = recs[j], recs[i] })
	return recs
}

func scanCerts(t *testing.T, s *Store, f registry.Filter) []string {
	t.Helper()
	var out []string
	if err := s.Scan(t.Context(), f, func(v registry.Version) error {
		out = append(out, v.CertificateNumber)
		return nil
	}); err != nil {
		t.Fatalf("Scan: %v", err)
	}
	return out
}

// TestScanAcrossPagesAndMerges files records in several batches with
// scans in between, so that the order index is extended by merging, and
// scans more records than one page holds or one lock examines.
func TestScanAcrossPagesAndMerges(t *testing.T) {
	const n = 3*scanExamine + 123
	recs := shuffledSamples(n)
	s := New()
	var all []string
	for start := 0; start < n; start += n / 4 {
		batch := recs[start:min(start+n/4, n)]
		if _, err := registry.Insert(t.Context(), s, testLogKey, batch, testChange); err != nil {
			t.Fatalf("Insert: %v", err)
		}
		for _, r := range batch {
			all = append(all, r.CertificateNumber)
		}
		slices.Sort(all)
		if got := scanCerts(t, s, registry.Filter{}); !slices.Equal(got, all) {
			t.Fatalf("after %d records, Scan returned %d certificates (sorted: %v), want %d", len(all), len(got), slices.IsSorted(got), len(all))
		}
	}
	// A selective filter: few matches per examined page.
	f := registry.Filter{UnitCodes: []string{"10003"}, Statuses: []registry.Status{registry.StatusRevoked}}
	var want []string
	for _, r := range recs {
		if r.UnitCode == "10003" && r.Status == registry.StatusRevoked {
			want = append(want, r.CertificateNumber)
		}
	}
	slices.Sort(want)
	if got := scanCerts(t, s, f); !slices.Equal(got, want) || len(want) == 0 {
		t.Errorf("selective Scan returned %d certificates, want %d", len(got), len(want))
	}
}

// TestScanWhileFiling: a scan racing with inserts stays strictly ordered
// and sees every certificate filed before it began.
func TestScanWhileFiling(t *testing.T) {
	const before, during = 5000, 5000
	recs := shuffledSamples(before + during)
	s := New()
	if _, err := registry.Insert(t.Context(), s, testLogKey, recs[:before], testChange); err != nil {
		t.Fatalf("Insert: %v", err)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		for start := before; start < len(recs); start += 250 {
			if _, err := registry.Insert(t.Context(), s, testLogKey, recs[start:start+250], testChange); err != nil {
				t.Errorf("Insert: %v", err)
				return
			}
		}
	})
	got := scanCerts(t, s, registry.Filter{})
	wg.Wait()
	if !slices.IsSorted(got) || len(slices.Compact(slices.Clone(got))) != len(got) {
		t.Fatal("Scan during inserts is not strictly ordered")
	}
	for _, r := range recs[:before] {
		if _, found := slices.BinarySearch(got, r.CertificateNumber); !found {
			t.Fatalf("Scan during inserts missed a certificate filed before it began")
		}
	}
}

// TestCallbacksMayReenter: fn runs outside the locks, so it may use the
// store, even while a writer waits.
func TestCallbacksMayReenter(t *testing.T) {
	s := New()
	recs := shuffledSamples(2 * scanPage)
	if _, err := registry.Insert(t.Context(), s, testLogKey, recs, testChange); err != nil {
		t.Fatalf("Insert: %v", err)
	}
	done := make(chan error, 1)
	go func() {
		done <- s.Scan(t.Context(), registry.Filter{}, func(v registry.Version) error {
			if _, err := s.Current(t.Context(), v.CertificateNumber); err != nil {
				return err
			}
			_, err := registry.Append(t.Context(), s, testLogKey, "record.amend", v.Version, v.Sealed, testChange)
			if err != nil {
				return err
			}
			return logged(s).AppendAudit(t.Context(), []registry.AuditEntry{{Actor: "t", Action: "scan"}})
		})
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Scan: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Scan with a re-entering callback did not finish: deadlock")
	}
	n := 0
	err := s.ScanAudit(t.Context(), 1, func(registry.AuditEntry) error {
		n++
		if n <= 3 {
			return logged(s).AppendAudit(t.Context(), []registry.AuditEntry{{Actor: "t", Action: "nested"}})
		}
		return nil
	})
	if err != nil {
		t.Fatalf("ScanAudit: %v", err)
	}
	if _, err := registry.VerifyChain(t.Context(), s); err != nil {
		t.Errorf("VerifyChain: %v", err)
	}
}

func TestByPersonEmptyIndex(t *testing.T) {
	s := New()
	r := registrytest.SampleSealed(0)
	r.PersonIndex = nil
	if _, err := registry.Insert(t.Context(), s, testLogKey, []registry.Sealed{r}, testChange); err != nil {
		t.Fatalf("Insert: %v", err)
	}
	for _, pi := range [][]byte{nil, {}} {
		if got, err := s.ByPerson(t.Context(), pi); err != nil || len(got) != 0 {
			t.Errorf("ByPerson(empty) = %d versions, %v; want none", len(got), err)
		}
	}
	// Giving the record an index later puts it in that person's list.
	next := registrytest.SampleSealed(0)
	if _, err := registry.Append(t.Context(), s, testLogKey, "record.amend", 1, next, testChange); err != nil {
		t.Fatalf("Append: %v", err)
	}
	if got, err := s.ByPerson(t.Context(), next.PersonIndex); err != nil || len(got) != 1 {
		t.Errorf("ByPerson after the index was set = %d versions, %v; want 1", len(got), err)
	}
}

func TestErrorsCarryNoCertificateNumber(t *testing.T) {
	s := New()
	r := registrytest.SampleSealed(3)
	_, err := registry.Insert(t.Context(), s, testLogKey, []registry.Sealed{r, r}, testChange)
	_, err2 := s.Current(t.Context(), r.CertificateNumber)
	_, err3 := registry.Append(t.Context(), s, testLogKey, "record.amend", 1, r, testChange)
	for _, e := range []error{err, err2, err3} {
		if e == nil {
			t.Fatal("want an error")
		}
		if msg := e.Error(); slices.ContainsFunc([]string{r.CertificateNumber, r.Name}, func(v string) bool { return strings.Contains(msg, v) }) {
			t.Errorf("error %q quotes record data", msg)
		}
	}
	if !errors.Is(err2, registry.ErrNotFound) || !errors.Is(err3, registry.ErrNotFound) {
		t.Errorf("want ErrNotFound, got %v and %v", err2, err3)
	}
}
