package registrytest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/degreegate/degreegate/registry"
)

// The share-code tests check the comments of registry/sharecode.go and,
// beyond them, that
//   - times come back as the same instant cut to microseconds, in UTC, and
//     a zero WithdrawnAt stays zero;
//   - a refused PutShareCode (invalid or duplicate) stores nothing;
//   - a view that is refused counts nothing, and views racing each other
//     each see a count of their own;
//   - PutShareCode's bound counts only the owner's codes usable at the new
//     code's creation, and holds when many puts race.

type shareCodeTest struct {
	name string
	fn   func(t *testing.T, s registry.ShareCodeStore)
}

func runShareCodes(t *testing.T, open func(t *testing.T) Backend) {
	tests := []shareCodeTest{
		{"PutGet", testCodePutGet},
		{"NotFound", testCodeNotFound},
		{"Invalid", testCodeInvalid},
		{"Duplicate", testCodeDuplicate},
		{"ViewCounts", testCodeViewCounts},
		{"Expired", testCodeExpired},
		{"Withdrawn", testCodeWithdrawn},
		{"WithdrawByOther", testCodeWithdrawByOther},
		{"ListNewestFirst", testCodeList},
		{"ConcurrentViews", testCodeConcurrentViews},
		{"BoundOnUsable", testCodeBound},
		{"BoundUnderRace", testCodeBoundRace},
		{"CopiesInAndOut", testCodeCopies},
		{"CancelledContext", testCodeCancelled},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := open(t)
			codes := b.Codes
			if codes == nil {
				codes, _ = b.Store.(registry.ShareCodeStore)
			}
			if codes == nil {
				t.Skip("the backend keeps no share codes")
			}
			tc.fn(t, codes)
		})
	}
}

// codeEpoch has nanoseconds and a zone other than UTC, so that stores
// must cut and convert.
var codeEpoch = time.Date(2025, 6, 1, 8, 0, 0, 123_456_789, cst)

// codeHash is the SHA-256 of a made-up code, as the gateway would store.
func codeHash(code string) []byte {
	h := sha256.Sum256([]byte("code:" + code))
	return h[:]
}

// personIndex stands for a holder's keyed blind index.
func personIndex(who string) []byte {
	h := sha256.Sum256([]byte("person:" + who))
	return h[:]
}

// newCode returns a code of owner's created n minutes after codeEpoch,
// valid for a day.
func newCode(code, owner string, n int) registry.ShareCode {
	created := codeEpoch.Add(time.Duration(n) * time.Minute)
	return registry.ShareCode{
		Hash:              codeHash(code),
		CertificateNumber: SampleSealed(n).CertificateNumber,
		Owner:             personIndex(owner),
		Level:             "full",
		CreatedAt:         created,
		ExpiresAt:         created.Add(24 * time.Hour),
	}
}

func mustPutCode(t *testing.T, s registry.ShareCodeStore, c registry.ShareCode) {
	t.Helper()
	if err := s.PutShareCode(t.Context(), c, 0); err != nil {
		t.Fatalf("PutShareCode: %v", err)
	}
}

func mustGetCode(t *testing.T, s registry.ShareCodeStore, hash []byte) registry.ShareCode {
	t.Helper()
	c, err := s.ShareCode(t.Context(), hash)
	if err != nil {
		t.Fatalf("ShareCode: %v", err)
	}
	return c
}

// diffCode names every field of got that is not the stored form of want.
// Hashes and owners are not printed: they stand for personal data.
func diffCode(got, want registry.ShareCode) []string {
	var diffs []string
	if !bytes.Equal(got.Hash, want.Hash) {
		diffs = append(diffs, "Hash differs")
	}
	if !bytes.Equal(got.Owner, want.Owner) {
		diffs = append(diffs, "Owner differs")
	}
	if got.CertificateNumber != want.CertificateNumber {
		diffs = append(diffs, fmt.Sprintf("CertificateNumber: got %q, want %q", got.CertificateNumber, want.CertificateNumber))
	}
	if got.Level != want.Level {
		diffs = append(diffs, fmt.Sprintf("Level: got %q, want %q", got.Level, want.Level))
	}
	if got.Views != want.Views {
		diffs = append(diffs, fmt.Sprintf("Views: got %d, want %d", got.Views, want.Views))
	}
	diffs = append(diffs, diffTime("CreatedAt", got.CreatedAt, want.CreatedAt)...)
	diffs = append(diffs, diffTime("ExpiresAt", got.ExpiresAt, want.ExpiresAt)...)
	if want.WithdrawnAt.IsZero() {
		if !got.WithdrawnAt.IsZero() {
			diffs = append(diffs, "WithdrawnAt: got "+got.WithdrawnAt.String()+", want zero")
		}
	} else {
		diffs = append(diffs, diffTime("WithdrawnAt", got.WithdrawnAt, want.WithdrawnAt)...)
	}
	return diffs
}

func checkCode(t *testing.T, where string, got, want registry.ShareCode) {
	t.Helper()
	for _, d := range diffCode(got, want) {
		t.Errorf("%s: %s", where, d)
	}
}

func testCodePutGet(t *testing.T, s registry.ShareCodeStore) {
	codes := []registry.ShareCode{
		newCode("a", "holder-1", 0),
		newCode("b", "holder-1", 1),
		func() registry.ShareCode {
			// Every field away from its zero value, a withdrawn code among them.
			c := newCode("c", "holder-2", 2)
			c.Level = "完整报告"
			c.Views = 7
			c.WithdrawnAt = c.CreatedAt.Add(90 * time.Second)
			return c
		}(),
	}
	for _, c := range codes {
		mustPutCode(t, s, c)
	}
	for i, c := range codes {
		checkCode(t, fmt.Sprintf("ShareCode of code %d", i), mustGetCode(t, s, c.Hash), c)
	}
}

func testCodeNotFound(t *testing.T, s registry.ShareCodeStore) {
	c := newCode("known", "holder-1", 0)
	mustPutCode(t, s, c)
	for _, tc := range []struct {
		name string
		hash []byte
	}{
		{"unknown hash", codeHash("unknown")},
		{"nil hash", nil},
		{"prefix of a known hash", c.Hash[:16]},
	} {
		if _, err := s.ShareCode(t.Context(), tc.hash); !errors.Is(err, registry.ErrNotFound) {
			t.Errorf("ShareCode(%s) = %v, want ErrNotFound", tc.name, err)
		}
		if _, err := s.ViewShareCode(t.Context(), tc.hash, c.CreatedAt); !errors.Is(err, registry.ErrNotFound) {
			t.Errorf("ViewShareCode(%s) = %v, want ErrNotFound", tc.name, err)
		}
	}
}

func testCodeInvalid(t *testing.T, s registry.ShareCodeStore) {
	tests := []struct {
		name  string
		edit  func(*registry.ShareCode)
		field string
	}{
		{"the code itself instead of its hash", func(c *registry.ShareCode) { c.Hash = []byte("ABCD-EFGH-JKLM-NPQR") }, "hash"},
		{"no hash", func(c *registry.ShareCode) { c.Hash = nil }, "hash"},
		{"no certificate", func(c *registry.ShareCode) { c.CertificateNumber = "" }, "certificate_number"},
		{"no owner", func(c *registry.ShareCode) { c.Owner = nil }, "owner"},
		{"no level", func(c *registry.ShareCode) { c.Level = "" }, "level"},
		{"no creation time", func(c *registry.ShareCode) { c.CreatedAt = time.Time{} }, "created_at"},
		{"expires when created", func(c *registry.ShareCode) { c.ExpiresAt = c.CreatedAt }, "expires_at"},
		{"expires before created", func(c *registry.ShareCode) { c.ExpiresAt = c.CreatedAt.Add(-time.Hour) }, "expires_at"},
		{"expires within the microsecond it is created", func(c *registry.ShareCode) { c.ExpiresAt = c.CreatedAt.Add(200 * time.Nanosecond) }, "expires_at"},
		{"negative views", func(c *registry.ShareCode) { c.Views = -1 }, "views"},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := newCode(fmt.Sprintf("invalid-%d", i), "holder-1", i)
			valid := slices.Clone(c.Hash)
			tc.edit(&c)
			err := s.PutShareCode(t.Context(), c, 0)
			if !errors.Is(err, registry.ErrInvalid) {
				t.Fatalf("PutShareCode = %v, want ErrInvalid", err)
			}
			var ie *registry.InvalidError
			if !errors.As(err, &ie) || !slices.ContainsFunc(ie.Violations, func(v registry.Violation) bool { return v.Field == tc.field }) {
				t.Errorf("PutShareCode error %v names no violation of %s", err, tc.field)
			}
			for _, h := range [][]byte{valid, c.Hash} {
				if len(h) == 0 {
					continue
				}
				if _, err := s.ShareCode(t.Context(), h); !errors.Is(err, registry.ErrNotFound) {
					t.Errorf("after a refused PutShareCode, ShareCode = %v, want ErrNotFound", err)
				}
			}
		})
	}
	if got, err := s.ShareCodesOf(t.Context(), personIndex("holder-1")); err != nil || len(got) != 0 {
		t.Errorf("refused codes are listed: %d codes, err %v", len(got), err)
	}
}

func testCodeDuplicate(t *testing.T, s registry.ShareCodeStore) {
	first := newCode("same", "holder-1", 0)
	mustPutCode(t, s, first)
	second := newCode("same", "holder-2", 5) // same code, another holder
	second.Level = "basic"
	err := s.PutShareCode(t.Context(), second, 0)
	if !errors.Is(err, registry.ErrDuplicate) {
		t.Fatalf("PutShareCode of a stored hash = %v, want ErrDuplicate", err)
	}
	checkCode(t, "after a duplicate", mustGetCode(t, s, first.Hash), first)
	if got, _ := s.ShareCodesOf(t.Context(), second.Owner); len(got) != 0 {
		t.Errorf("the refused duplicate is listed for its owner")
	}
}

func testCodeViewCounts(t *testing.T, s registry.ShareCodeStore) {
	c := newCode("viewed", "holder-1", 0)
	other := newCode("untouched", "holder-1", 1)
	mustPutCode(t, s, c)
	mustPutCode(t, s, other)
	for n := int64(1); n <= 5; n++ {
		got, err := s.ViewShareCode(t.Context(), c.Hash, c.CreatedAt.Add(time.Duration(n)*time.Hour))
		if err != nil {
			t.Fatalf("view %d: %v", n, err)
		}
		want := c
		want.Views = n
		checkCode(t, fmt.Sprintf("ViewShareCode %d", n), got, want)
	}
	if v := mustGetCode(t, s, c.Hash).Views; v != 5 {
		t.Errorf("ShareCode after 5 views: Views = %d", v)
	}
	if v := mustGetCode(t, s, other.Hash).Views; v != 0 {
		t.Errorf("viewing one code counted %d views on another", v)
	}
	// Reading is not viewing.
	mustGetCode(t, s, c.Hash)
	if v := mustGetCode(t, s, c.Hash).Views; v != 5 {
		t.Errorf("ShareCode counted views: Views = %d, want 5", v)
	}
}

func testCodeExpired(t *testing.T, s registry.ShareCodeStore) {
	c := newCode("expiring", "holder-1", 0)
	mustPutCode(t, s, c)
	expires := storedTime(c.ExpiresAt)
	tests := []struct {
		name    string
		now     time.Time
		wantErr error
	}{
		{"at creation", c.CreatedAt, nil},
		{"a microsecond before expiry", expires.Add(-time.Microsecond), nil},
		{"the same instant in another zone", expires.Add(-time.Microsecond).In(time.FixedZone("X", -5*3600)), nil},
		{"at expiry", expires, registry.ErrCodeExpired},
		{"at expiry plus nanoseconds", expires.Add(999 * time.Nanosecond), registry.ErrCodeExpired},
		{"a year later", expires.AddDate(1, 0, 0), registry.ErrCodeExpired},
	}
	views := int64(0)
	for _, tc := range tests {
		got, err := s.ViewShareCode(t.Context(), c.Hash, tc.now)
		if !errors.Is(err, tc.wantErr) {
			t.Errorf("view %s: err = %v, want %v", tc.name, err, tc.wantErr)
			continue
		}
		if err == nil {
			views++
		}
		// A refused view still returns the code, as stored.
		want := c
		want.Views = views
		checkCode(t, "view "+tc.name, got, want)
	}
	if v := mustGetCode(t, s, c.Hash).Views; v != views {
		t.Errorf("Views = %d after %d successful views", v, views)
	}
}

func testCodeWithdrawn(t *testing.T, s registry.ShareCodeStore) {
	c := newCode("withdrawn", "holder-1", 0)
	mustPutCode(t, s, c)
	if _, err := s.ViewShareCode(t.Context(), c.Hash, c.CreatedAt); err != nil {
		t.Fatalf("view before withdrawal: %v", err)
	}
	at := c.CreatedAt.Add(time.Hour + 987*time.Nanosecond)
	if err := s.WithdrawShareCode(t.Context(), c.Hash, c.Owner, at); err != nil {
		t.Fatalf("WithdrawShareCode by its owner: %v", err)
	}
	want := c
	want.Views = 1
	want.WithdrawnAt = at
	checkCode(t, "after withdrawal", mustGetCode(t, s, c.Hash), want)

	refused := []time.Time{
		c.CreatedAt,                // before the withdrawal's own time: withdrawn all the same
		at.Add(time.Minute),        // within the term
		c.ExpiresAt.Add(time.Hour), // withdrawn and expired: withdrawn wins
	}
	for _, now := range refused {
		got, err := s.ViewShareCode(t.Context(), c.Hash, now)
		if !errors.Is(err, registry.ErrCodeWithdrawn) {
			t.Errorf("view of a withdrawn code at %s: %v, want ErrCodeWithdrawn", now, err)
		}
		checkCode(t, "refused view", got, want)
	}
	// Again, later: still fine, and the first withdrawal stands.
	if err := s.WithdrawShareCode(t.Context(), c.Hash, c.Owner, at.Add(time.Hour)); err != nil {
		t.Errorf("second WithdrawShareCode: %v", err)
	}
	checkCode(t, "after a second withdrawal", mustGetCode(t, s, c.Hash), want)
}

func testCodeWithdrawByOther(t *testing.T, s registry.ShareCodeStore) {
	c := newCode("mine", "holder-1", 0)
	mustPutCode(t, s, c)
	at := c.CreatedAt.Add(time.Minute)
	tests := []struct {
		name        string
		hash, owner []byte
	}{
		{"another holder", c.Hash, personIndex("holder-2")},
		{"no owner", c.Hash, nil},
		{"a prefix of the owner", c.Hash, c.Owner[:8]},
		{"an unknown code", codeHash("unknown"), c.Owner},
	}
	for _, tc := range tests {
		if err := s.WithdrawShareCode(t.Context(), tc.hash, tc.owner, at); !errors.Is(err, registry.ErrNotFound) {
			t.Errorf("WithdrawShareCode by %s = %v, want ErrNotFound", tc.name, err)
		}
	}
	checkCode(t, "after others tried to withdraw it", mustGetCode(t, s, c.Hash), c)
	if _, err := s.ViewShareCode(t.Context(), c.Hash, at); err != nil {
		t.Errorf("the code stopped working after others tried to withdraw it: %v", err)
	}
}

func testCodeList(t *testing.T, s registry.ShareCodeStore) {
	// Expected order, written out: newest CreatedAt first; the two codes
	// created at the same instant in hash order.
	a := newCode("a", "holder-1", 10)
	b := newCode("b", "holder-1", 30)
	c := newCode("c", "holder-1", 20)
	d := newCode("d", "holder-1", 20)
	e := newCode("e", "holder-1", 40)
	e.WithdrawnAt = e.CreatedAt.Add(time.Second) // withdrawn codes are listed too
	f := newCode("f", "holder-1", 0)
	f.ExpiresAt = f.CreatedAt.Add(time.Nanosecond * 1500) // and expired ones
	lo, hi := c, d
	if bytes.Compare(lo.Hash, hi.Hash) > 0 {
		lo, hi = hi, lo
	}
	want := []registry.ShareCode{e, b, lo, hi, a, f}
	others := newCode("x", "holder-2", 50)

	// Stored in no order, the tied pair against its expected order.
	for _, code := range []registry.ShareCode{hi, f, others, a, e, lo, b} {
		mustPutCode(t, s, code)
	}
	got, err := s.ShareCodesOf(t.Context(), personIndex("holder-1"))
	if err != nil {
		t.Fatalf("ShareCodesOf: %v", err)
	}
	if len(got) != len(want) {
		t.Fatalf("ShareCodesOf returned %d codes, want %d", len(got), len(want))
	}
	for i := range want {
		checkCode(t, fmt.Sprintf("ShareCodesOf[%d]", i), got[i], want[i])
	}
	for _, tc := range []struct {
		name  string
		owner []byte
		n     int
	}{
		{"the other holder", personIndex("holder-2"), 1},
		{"a holder without codes", personIndex("holder-3"), 0},
		{"no owner", nil, 0},
	} {
		got, err := s.ShareCodesOf(t.Context(), tc.owner)
		if err != nil || len(got) != tc.n {
			t.Errorf("ShareCodesOf(%s) = %d codes, %v; want %d", tc.name, len(got), err, tc.n)
		}
	}
}

// testCodeConcurrentViews: views racing for one code are each counted
// once; every caller sees a count of its own, so no two read the same.
func testCodeConcurrentViews(t *testing.T, s registry.ShareCodeStore) {
	const workers, each = 8, 25
	c := newCode("popular", "holder-1", 0)
	mustPutCode(t, s, c)
	counts := make([][]int64, workers)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for range each {
				got, err := s.ViewShareCode(t.Context(), c.Hash, c.CreatedAt.Add(time.Minute))
				if err != nil {
					errs[w] = err
					return
				}
				counts[w] = append(counts[w], got.Views)
			}
		})
	}
	wg.Wait()
	for w, err := range errs {
		if err != nil {
			t.Fatalf("worker %d: ViewShareCode: %v", w, err)
		}
	}
	all := slices.Concat(counts...)
	slices.Sort(all)
	for i, v := range all {
		if v != int64(i+1) {
			t.Fatalf("the views saw counts %v…, want each of 1..%d once", all[:min(len(all), i+3)], workers*each)
		}
	}
	if v := mustGetCode(t, s, c.Hash).Views; v != workers*each {
		t.Errorf("Views = %d after %d concurrent views", v, workers*each)
	}
}

func testCodeBound(t *testing.T, s registry.ShareCodeStore) {
	ctx := t.Context()
	put := func(c registry.ShareCode, bound int) error { return s.PutShareCode(ctx, c, bound) }
	// Two usable codes of holder-1 at minute 10; one withdrawn and one
	// expired by then, which must not count.
	mustPutCode(t, s, newCode("a", "holder-1", 0))
	mustPutCode(t, s, newCode("b", "holder-1", 1))
	gone := newCode("withdrawn", "holder-1", 2)
	mustPutCode(t, s, gone)
	if err := s.WithdrawShareCode(ctx, gone.Hash, gone.Owner, codeEpoch.Add(3*time.Minute)); err != nil {
		t.Fatal(err)
	}
	old := newCode("expired", "holder-1", 3)
	old.ExpiresAt = old.CreatedAt.Add(time.Minute)
	mustPutCode(t, s, old)

	third := newCode("c", "holder-1", 10)
	if err := put(third, 2); !errors.Is(err, registry.ErrTooManyCodes) {
		t.Fatalf("a third usable code under a bound of 2: %v, want ErrTooManyCodes", err)
	}
	if _, err := s.ShareCode(ctx, third.Hash); !errors.Is(err, registry.ErrNotFound) {
		t.Errorf("the refused code was stored (%v)", err)
	}
	if err := put(third, 3); err != nil {
		t.Fatalf("a third usable code under a bound of 3: %v", err)
	}
	if err := put(newCode("d", "holder-1", 11), 0); err != nil {
		t.Fatalf("no bound: %v", err)
	}
	// Another holder has a count of its own.
	if err := put(newCode("e", "holder-2", 11), 1); err != nil {
		t.Fatalf("holder-2's first code under a bound of 1: %v", err)
	}
	// A day after c and d, every earlier code has expired and frees its
	// place.
	if err := put(newCode("f", "holder-1", 24*60+12), 1); err != nil {
		t.Fatalf("after the earlier codes expired: %v", err)
	}
}

func testCodeBoundRace(t *testing.T, s registry.ShareCodeStore) {
	const workers, bound = 12, 3
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			errs[w] = s.PutShareCode(t.Context(), newCode(fmt.Sprintf("race-%d", w), "holder-1", w%2), bound)
		})
	}
	wg.Wait()
	stored := 0
	for w, err := range errs {
		switch {
		case err == nil:
			stored++
		case !errors.Is(err, registry.ErrTooManyCodes):
			t.Errorf("worker %d: %v", w, err)
		}
	}
	got, err := s.ShareCodesOf(t.Context(), personIndex("holder-1"))
	if err != nil {
		t.Fatal(err)
	}
	if stored != bound || len(got) != bound {
		t.Fatalf("%d racing puts under a bound of %d: %d accepted, %d stored", workers, bound, stored, len(got))
	}
}

func testCodeCopies(t *testing.T, s registry.ShareCodeStore) {
	c := newCode("copied", "holder-1", 0)
	want := c
	want.Hash, want.Owner = slices.Clone(c.Hash), slices.Clone(c.Owner)
	mustPutCode(t, s, c)
	c.Hash[0] ^= 0xff
	c.Owner[0] ^= 0xff
	got := mustGetCode(t, s, want.Hash)
	checkCode(t, "after the caller changed what it passed", got, want)
	got.Hash[0] ^= 0xff
	got.Owner[0] ^= 0xff
	listed, err := s.ShareCodesOf(t.Context(), want.Owner)
	if err != nil || len(listed) != 1 {
		t.Fatalf("ShareCodesOf = %d codes, %v", len(listed), err)
	}
	listed[0].Owner[0] ^= 0xff
	viewed, err := s.ViewShareCode(t.Context(), want.Hash, want.CreatedAt)
	if err != nil {
		t.Fatalf("ViewShareCode: %v", err)
	}
	viewed.Hash[0] ^= 0xff
	want.Views = 1
	checkCode(t, "after the caller changed what it got", mustGetCode(t, s, want.Hash), want)
}

func testCodeCancelled(t *testing.T, s registry.ShareCodeStore) {
	c := newCode("cancel", "holder-1", 0)
	mustPutCode(t, s, c)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	late := newCode("late", "holder-1", 1)
	calls := map[string]func() error{
		"PutShareCode":      func() error { return s.PutShareCode(ctx, late, 0) },
		"ShareCode":         func() error { _, err := s.ShareCode(ctx, c.Hash); return err },
		"ViewShareCode":     func() error { _, err := s.ViewShareCode(ctx, c.Hash, c.CreatedAt); return err },
		"WithdrawShareCode": func() error { return s.WithdrawShareCode(ctx, c.Hash, c.Owner, c.CreatedAt) },
		"ShareCodesOf":      func() error { _, err := s.ShareCodesOf(ctx, c.Owner); return err },
	}
	for name, call := range calls {
		if err := call(); err == nil {
			t.Errorf("%s with a cancelled context: no error", name)
		}
	}
	checkCode(t, "after cancelled calls", mustGetCode(t, s, c.Hash), c)
	if _, err := s.ShareCode(t.Context(), late.Hash); !errors.Is(err, registry.ErrNotFound) {
		t.Errorf("PutShareCode with a cancelled context stored the code (%v)", err)
	}
}
