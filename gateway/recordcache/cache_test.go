package recordcache

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/degreegate/degreegate/registry"
	"github.com/degreegate/degreegate/registry/registrytest"
)

// fakeSource is a store of certificate → status. gate, when set, holds
// every query until it is closed or sent to; queries records each query's
// numbers.
type fakeSource struct {
	mu      sync.Mutex
	status  map[string]registry.Status
	full    map[string]registry.Version // whole versions, when set
	pad     int                         // thesis title length of made-up versions
	queries [][]string
	gate    chan struct{}
	fail    error
	panics  bool
	entered chan struct{} // receives once per query, when set
}

func newFakeSource(certs ...string) *fakeSource {
	s := &fakeSource{status: map[string]registry.Status{}}
	for _, c := range certs {
		s.status[c] = registry.StatusFiled
	}
	return s
}

func (s *fakeSource) set(cert string, st registry.Status) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.status[cert] = st
}

func (s *fakeSource) wait(ctx context.Context, certs []string) error {
	s.mu.Lock()
	s.queries = append(s.queries, append([]string(nil), certs...))
	gate, entered, fail, panics := s.gate, s.entered, s.fail, s.panics
	s.mu.Unlock()
	if entered != nil {
		entered <- struct{}{}
	}
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if panics {
		panic("store bug")
	}
	return fail
}

func (s *fakeSource) version(cert string) (registry.Version, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if v, ok := s.full[cert]; ok {
		return v, true
	}
	st, ok := s.status[cert]
	var v registry.Version
	v.CertificateNumber = cert
	v.Status = st
	v.ThesisTitle = strings.Repeat("x", s.pad)
	return v, ok
}

// Current and CurrentMany read their snapshot before waiting at the gate,
// like a query that read the table before a concurrent change committed.
func (s *fakeSource) Current(ctx context.Context, cert string) (registry.Version, error) {
	v, ok := s.version(cert)
	if err := s.wait(ctx, []string{cert}); err != nil {
		return registry.Version{}, err
	}
	if ok {
		return v, nil
	}
	return registry.Version{}, registry.ErrNotFound
}

func (s *fakeSource) CurrentMany(ctx context.Context, certs []string) ([]registry.Version, error) {
	var out []registry.Version
	for _, c := range certs {
		if v, ok := s.version(c); ok {
			out = append(out, v)
		}
	}
	if err := s.wait(ctx, certs); err != nil {
		return nil, err
	}
	return out, nil
}

func (s *fakeSource) queryCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.queries)
}

func (s *fakeSource) allQueries() [][]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([][]string(nil), s.queries...)
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func get(t *testing.T, c *Cache, cert string) (registry.Version, bool, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return c.Get(ctx, cert)
}

func TestGetCachesFoundAndNotFoundAlike(t *testing.T) {
	for _, tc := range []struct {
		name    string
		cert    string
		wantErr error
	}{
		{"known number", "1000012024000001", nil},
		{"unknown number", "1000012024999999", registry.ErrNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := newFakeSource("1000012024000001")
			c := New(src, Options{})
			for i, wantHit := range []bool{false, true, true} {
				v, hit, err := get(t, c, tc.cert)
				if !errors.Is(err, tc.wantErr) || (err == nil) != (tc.wantErr == nil) {
					t.Fatalf("get %d: err %v, want %v", i, err, tc.wantErr)
				}
				if hit != wantHit {
					t.Errorf("get %d: hit %v, want %v", i, hit, wantHit)
				}
				if err == nil && v.CertificateNumber != tc.cert {
					t.Errorf("get %d: version of %q", i, v.CertificateNumber)
				}
			}
			if n := src.queryCount(); n != 1 {
				t.Errorf("store asked %d times, want once", n)
			}
			st := c.Stats()
			if st.Hits != 2 || st.Misses != 1 || st.Queries != 1 {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

func TestEntriesExpire(t *testing.T) {
	src := newFakeSource("A00001")
	clk := &clock{t: time.Unix(1_700_000_000, 0)}
	c := New(src, Options{TTL: time.Second, Now: clk.now})
	get(t, c, "A00001")
	clk.advance(999 * time.Millisecond)
	if _, hit, _ := get(t, c, "A00001"); !hit {
		t.Error("entry gone before its TTL")
	}
	clk.advance(time.Millisecond)
	if _, hit, _ := get(t, c, "A00001"); hit {
		t.Error("entry served at its TTL")
	}
	if n := src.queryCount(); n != 2 {
		t.Errorf("store asked %d times, want 2", n)
	}
}

func TestInvalidateAndReset(t *testing.T) {
	for _, tc := range []struct {
		name string
		drop func(c *Cache, cert string)
	}{
		{"invalidate", func(c *Cache, cert string) { c.Invalidate(cert) }},
		{"reset", func(c *Cache, _ string) { c.Reset() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := newFakeSource("A00001", "A00002")
			c := New(src, Options{TTL: time.Hour})
			get(t, c, "A00001")
			get(t, c, "A00002")
			src.set("A00001", registry.StatusRevoked)
			tc.drop(c, "A00001")
			v, hit, err := get(t, c, "A00001")
			if err != nil || hit || v.Status != registry.StatusRevoked {
				t.Fatalf("after %s: status %q hit %v err %v, want revoked from the store", tc.name, v.Status, hit, err)
			}
			_, hit, _ = get(t, c, "A00002")
			if wantHit := tc.name == "invalidate"; hit != wantHit {
				t.Errorf("other entry after %s: hit %v, want %v", tc.name, hit, wantHit)
			}
		})
	}
}

// A lookup that was running when its number was invalidated answers its
// callers but must not be kept: it may hold the version before the change.
func TestInvalidateDuringLookupIsNotCached(t *testing.T) {
	src := newFakeSource("A00001")
	src.gate = make(chan struct{})
	src.entered = make(chan struct{}, 1)
	c := New(src, Options{TTL: time.Hour})
	done := make(chan registry.Version)
	go func() {
		v, _, _ := c.Get(context.Background(), "A00001")
		done <- v
	}()
	<-src.entered // the lookup read... and now the record changes
	src.set("A00001", registry.StatusRevoked)
	c.Invalidate("A00001")
	close(src.gate)
	if v := <-done; v.Status != registry.StatusFiled {
		t.Fatalf("the racing lookup read %q; the test wants it to read the old version", v.Status)
	}
	src.entered = nil
	v, hit, err := get(t, c, "A00001")
	if err != nil || hit || v.Status != registry.StatusRevoked {
		t.Fatalf("after a racing invalidation: status %q hit %v err %v", v.Status, hit, err)
	}
}

// A lookup that starts after an invalidation must not join one that began
// before it, which may return the old version.
func TestLookupAfterInvalidateDoesNotJoinOlderOne(t *testing.T) {
	src := newFakeSource("A00001")
	src.gate = make(chan struct{})
	src.entered = make(chan struct{}, 2)
	c := New(src, Options{TTL: time.Hour})
	older := make(chan registry.Version, 1)
	go func() { v, _, _ := c.Get(context.Background(), "A00001"); older <- v }()
	<-src.entered
	src.set("A00001", registry.StatusRevoked)
	c.Invalidate("A00001")
	newer := make(chan registry.Version, 1)
	go func() { v, _, _ := c.Get(context.Background(), "A00001"); newer <- v }()
	select {
	case <-src.entered:
	case <-time.After(time.Second):
		t.Error("the later lookup joined the earlier one instead of asking the store")
	}
	close(src.gate)
	if v := <-older; v.Status != registry.StatusFiled {
		t.Fatalf("the earlier lookup read %q; the test wants it to read the old version", v.Status)
	}
	if v := <-newer; v.Status != registry.StatusRevoked {
		t.Errorf("a lookup begun after the invalidation answered %q", v.Status)
	}
}

func TestBypassWhileNotLive(t *testing.T) {
	src := newFakeSource("A00001")
	var live atomic.Bool
	c := New(src, Options{TTL: time.Hour, Live: live.Load})
	for i := 0; i < 3; i++ {
		if _, hit, err := get(t, c, "A00001"); hit || err != nil {
			t.Fatalf("not live: hit %v err %v", hit, err)
		}
	}
	if c.Len() != 0 {
		t.Errorf("%d entries cached while not live", c.Len())
	}
	live.Store(true)
	get(t, c, "A00001")
	if _, hit, _ := get(t, c, "A00001"); !hit {
		t.Error("no hit once live")
	}
	if st := c.Stats(); st.Bypassed != 3 || src.queryCount() != 4 {
		t.Errorf("stats %+v, %d queries", st, src.queryCount())
	}
}

func TestConcurrentMissesForOneNumberShareOneLookup(t *testing.T) {
	src := newFakeSource("A00001")
	src.gate = make(chan struct{})
	src.entered = make(chan struct{}, 1)
	c := New(src, Options{})
	const n = 50
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, err := c.Get(context.Background(), "A00001")
			errs <- err
		}()
	}
	<-src.entered
	// Give the other goroutines time to join the flight in progress.
	time.Sleep(50 * time.Millisecond)
	close(src.gate)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if q := src.queryCount(); q != 1 {
		t.Errorf("%d store queries for one number, want 1", q)
	}
}

func TestMissesForDifferentNumbersAreBatched(t *testing.T) {
	for _, tc := range []struct {
		waiting, maxBatch int
	}{
		{waiting: 10, maxBatch: 64},
		{waiting: 10, maxBatch: 4},
		{waiting: 1, maxBatch: 64},
	} {
		t.Run(fmt.Sprintf("%d waiting, batches of %d", tc.waiting, tc.maxBatch), func(t *testing.T) {
			src := newFakeSource()
			src.gate = make(chan struct{})
			src.entered = make(chan struct{}, 100)
			c := New(src, Options{Loaders: 1, MaxBatch: tc.maxBatch})
			// The first lookup occupies the only loader...
			first := make(chan error, 1)
			go func() { _, _, err := c.Get(context.Background(), "B00000"); first <- err }()
			<-src.entered
			// ...while these queue; every other one exists.
			certs := make([]string, tc.waiting)
			results := make(chan error, tc.waiting)
			for i := range certs {
				certs[i] = fmt.Sprintf("B%05d", i+1)
				if i%2 == 0 {
					src.set(certs[i], registry.StatusFiled)
				}
				go func(cert string, exists bool) {
					v, _, err := c.Get(context.Background(), cert)
					switch {
					case exists && (err != nil || v.CertificateNumber != cert):
						err = fmt.Errorf("%s: got %q, %v", cert, v.CertificateNumber, err)
					case !exists && !errors.Is(err, registry.ErrNotFound):
						err = fmt.Errorf("%s: err %v, want not found", cert, err)
					default:
						err = nil
					}
					results <- err
				}(certs[i], i%2 == 0)
			}
			waitFor(t, func() bool { return pendingLen(c) == tc.waiting })
			close(src.gate)
			if err := <-first; !errors.Is(err, registry.ErrNotFound) {
				t.Fatalf("first: %v", err)
			}
			for range certs {
				if err := <-results; err != nil {
					t.Error(err)
				}
			}
			qs := src.allQueries()
			wantQueries := 1 + (tc.waiting+tc.maxBatch-1)/tc.maxBatch
			if len(qs) != wantQueries {
				t.Fatalf("%d queries %v, want %d", len(qs), qs, wantQueries)
			}
			asked := 0
			for _, q := range qs[1:] {
				if len(q) > tc.maxBatch {
					t.Errorf("a query of %d numbers, over the batch limit %d", len(q), tc.maxBatch)
				}
				asked += len(q)
			}
			if asked != tc.waiting {
				t.Errorf("batches asked %d numbers, want %d", asked, tc.waiting)
			}
		})
	}
}

func pendingLen(c *Cache) int {
	c.load.mu.Lock()
	defer c.load.mu.Unlock()
	return len(c.load.pending)
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in 5 s")
		}
		time.Sleep(time.Millisecond)
	}
}

func TestStoreFailuresAreNotCached(t *testing.T) {
	for _, tc := range []struct {
		name   string
		fail   error
		panics bool
		batch  bool
	}{
		{name: "error, one number", fail: errors.New("connection reset")},
		{name: "error, batch", fail: errors.New("connection reset"), batch: true},
		{name: "panic, one number", panics: true},
		{name: "panic, batch", panics: true, batch: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := newFakeSource("A00001", "A00002")
			src.fail, src.panics = tc.fail, tc.panics
			c := New(src, Options{Loaders: 1})
			certs := []string{"A00001"}
			if tc.batch {
				// Hold the loader so that both numbers go in one query.
				src.gate = make(chan struct{})
				src.entered = make(chan struct{}, 10)
				go c.Get(context.Background(), "A00009")
				<-src.entered
				certs = append(certs, "A00002")
			}
			errs := make(chan error, len(certs))
			for _, cert := range certs {
				go func(cert string) { _, _, err := c.Get(context.Background(), cert); errs <- err }(cert)
			}
			if tc.batch {
				waitFor(t, func() bool { return pendingLen(c) == len(certs) })
				close(src.gate)
			}
			for range certs {
				if err := <-errs; err == nil || errors.Is(err, registry.ErrNotFound) {
					t.Fatalf("store failure answered as %v", err)
				}
			}
			src.mu.Lock()
			src.fail, src.panics, src.entered = nil, false, nil
			src.mu.Unlock()
			if _, hit, err := get(t, c, "A00001"); hit || err != nil {
				t.Errorf("after the failure: hit %v err %v, want a fresh lookup", hit, err)
			}
		})
	}
}

func TestGetHonoursContext(t *testing.T) {
	src := newFakeSource("A00001")
	src.gate = make(chan struct{})
	defer close(src.gate)
	c := New(src, Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, _, err := c.Get(ctx, "A00001"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err %v, want the context's", err)
	}
}

// TestSizeIsBounded asks for twice what the smallest cache holds (32 MB
// of 16 KB versions): the oldest go, and what stays still answers.
func TestSizeIsBounded(t *testing.T) {
	const pad, asked = 16 << 10, 4096
	src := newFakeSource()
	src.pad = pad
	for i := range asked {
		src.set(fmt.Sprintf("C%05d", i), registry.StatusFiled)
	}
	c := New(src, Options{Size: 1, TTL: time.Hour})
	for i := range asked {
		get(t, c, fmt.Sprintf("C%05d", i))
	}
	if n := c.Len(); n > asked*3/4 || n == 0 {
		t.Errorf("%d entries of %d asked, want about half", n, asked)
	}
	v, hit, err := get(t, c, fmt.Sprintf("C%05d", asked-1))
	if err != nil || !hit || len(v.ThesisTitle) != pad {
		t.Errorf("newest entry: hit %v, title of %d bytes, err %v", hit, len(v.ThesisTitle), err)
	}
}

// TestHitReturnsTheWholeVersion: a version kept encoded comes back whole,
// sealed fields and change included.
func TestHitReturnsTheWholeVersion(t *testing.T) {
	src := newFakeSource()
	want := registry.Version{
		Sealed:  registrytest.SampleSealed(3),
		Version: 2,
		Change:  registry.Change{Actor: "office:1", Reason: "amend", At: time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)},
	}
	src.full = map[string]registry.Version{want.CertificateNumber: want}
	c := New(src, Options{TTL: time.Hour})
	for _, wantHit := range []bool{false, true} {
		got, hit, err := get(t, c, want.CertificateNumber)
		if err != nil || hit != wantHit {
			t.Fatalf("hit %v (want %v), err %v", hit, wantHit, err)
		}
		if !got.Change.At.Equal(want.Change.At) {
			t.Errorf("hit %v: change time %v, want %v", hit, got.Change.At, want.Change.At)
		}
		got.Change.At = want.Change.At
		if !reflect.DeepEqual(got, want) {
			t.Errorf("hit %v: version differs:\n got %+v\nwant %+v", hit, got, want)
		}
	}
}

// Under concurrent lookups, a revocation that is stored and then
// invalidated is seen by every lookup that starts after the invalidation.
func TestNoStaleAnswerAfterInvalidate(t *testing.T) {
	const certs = 20
	src := newFakeSource()
	for i := 0; i < certs; i++ {
		src.set(fmt.Sprintf("D%05d", i), registry.StatusFiled)
	}
	c := New(src, Options{TTL: time.Hour, Loaders: 2, MaxBatch: 8})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; ctx.Err() == nil; i++ {
				c.Get(ctx, fmt.Sprintf("D%05d", (i+w)%certs))
			}
		}(w)
	}
	for i := 0; i < certs; i++ {
		cert := fmt.Sprintf("D%05d", i)
		time.Sleep(2 * time.Millisecond)
		src.set(cert, registry.StatusRevoked) // the registry commits...
		c.Invalidate(cert)                    // ...then broadcasts
		for j := 0; j < 20; j++ {
			v, _, err := c.Get(ctx, cert)
			if err != nil || v.Status != registry.StatusRevoked {
				t.Fatalf("%s after invalidation: %q %v", cert, v.Status, err)
			}
		}
	}
	cancel()
	wg.Wait()
}
