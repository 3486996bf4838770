package registrytest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/degreegate/degreegate/registry"
)

// The audit-search tests check registry.AuditSearcher against answers
// worked out here, by a predicate written for each case, over the entries
// the store's own ScanAudit returns; every case is checked to select some
// entries but not all, so that a filter a store ignores shows.

type auditSearchTest struct {
	name string
	fn   func(t *testing.T, a registry.AuditLog, s registry.AuditSearcher)
}

func runAuditSearch(t *testing.T, open func(t *testing.T) Backend) {
	tests := []auditSearchTest{
		{"EmptyTrail", testSearchEmpty},
		{"Filters", testSearchFilters},
		{"Pagination", testSearchPages},
		{"Limits", testSearchLimits},
		{"SeesNewEntries", testSearchNewEntries},
		{"CancelledContext", testSearchCancelled},
		{"PurposeUsedForAWhile", testSearchPurposeForAWhile},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := open(t)
			if b.Audit == nil {
				t.Fatal("open returned a Backend without an AuditLog")
			}
			search := b.Search
			if search == nil {
				search, _ = b.Audit.(registry.AuditSearcher)
			}
			if search == nil {
				search, _ = b.Store.(registry.AuditSearcher)
			}
			if search == nil {
				t.Skip("the backend cannot search its audit trail")
			}
			tc.fn(t, committing(b.Audit), search)
		})
	}
}

// searchEpoch is where the fixture's times start.
var searchEpoch = time.Date(2025, 5, 1, 9, 0, 0, 0, cst)

// Actors of the fixture. Prefix filters must respect rune boundaries and
// bytewise order: one actor carries the highest rune after the prefix
// "org:人社局", one sorts right after every string that has it, and one
// shares its first bytes but not its first runes.
var searchActors = []string{
	"org:人社局",
	"org:人社局/分局",
	"org:人社局\U0010FFFF尾",
	"org:人社\u5c41", // one code point above 局 (U+5C40)
	"org:教育厅",
	"org",
	"holder:5f1c",
	"public:hmac-3f2a",
}

var (
	searchActions  = []string{"verify", "holder.view", "code.view", "dataset.approve", "verify.batch"}
	searchRefs     = []string{"C1", "C2", "C3", "C4", "C5", "C6", ""}
	searchPurposes = []string{"招聘核验", "", "入学资格审查"}
)

// searchFixture appends n entries mixing every actor, action, record and
// purpose, in batches of varied sizes, at times that are mostly but not
// always increasing (a batched writer stamps entries when they happen,
// not when they are flushed). It returns them as the store keeps them.
func searchFixture(t *testing.T, a registry.AuditLog, n int) []registry.AuditEntry {
	t.Helper()
	rnd := rand.New(rand.NewPCG(11, uint64(n)))
	entries := make([]registry.AuditEntry, n)
	for i := range entries {
		at := searchEpoch.Add(time.Duration(i)*time.Minute + time.Duration(rnd.IntN(5_000))*time.Second)
		entries[i] = registry.AuditEntry{
			At:        at.Add(time.Duration(rnd.IntN(1000)) * time.Nanosecond),
			Actor:     searchActors[rnd.IntN(len(searchActors))],
			Action:    searchActions[rnd.IntN(len(searchActions))],
			RecordRef: searchRefs[rnd.IntN(len(searchRefs))],
			Purpose:   searchPurposes[rnd.IntN(len(searchPurposes))],
			Detail:    fmt.Sprintf(`{"i":%d}`, i),
		}
	}
	for rest := entries; len(rest) > 0; {
		k := min(len(rest), 1+rnd.IntN(60))
		mustAppendAudit(t, a, rest[:k])
		rest = rest[k:]
	}
	got := scanAudit(t, a, 1)
	if len(got) != n {
		t.Fatalf("ScanAudit after appending %d entries returned %d", n, len(got))
	}
	return got
}

func mustSearch(t *testing.T, s registry.AuditSearcher, q registry.AuditQuery) []registry.AuditEntry {
	t.Helper()
	got, err := s.SearchAudit(t.Context(), q)
	if err != nil {
		t.Fatalf("SearchAudit(%s): %v", describeQuery(q), err)
	}
	return got
}

// describeQuery prints a query without the noise of zero fields.
func describeQuery(q registry.AuditQuery) string {
	var parts []string
	add := func(name string, v any) { parts = append(parts, fmt.Sprintf("%s=%v", name, v)) }
	if !q.From.IsZero() {
		add("From", q.From.Format(time.RFC3339Nano))
	}
	if !q.To.IsZero() {
		add("To", q.To.Format(time.RFC3339Nano))
	}
	for _, f := range []struct{ name, v string }{{"Actor", q.Actor}, {"ActorPrefix", q.ActorPrefix}, {"Purpose", q.Purpose}} {
		if f.v != "" {
			add(f.name, fmt.Sprintf("%q", f.v))
		}
	}
	if q.Actions != nil {
		add("Actions", fmt.Sprintf("%q", q.Actions))
	}
	if q.RecordRefs != nil {
		add("RecordRefs", fmt.Sprintf("%q", q.RecordRefs))
	}
	if q.AfterSeq != 0 {
		add("AfterSeq", q.AfterSeq)
	}
	if q.Limit != 0 {
		add("Limit", q.Limit)
	}
	return "{" + strings.Join(parts, " ") + "}"
}

// checkPage compares a search result with the entries it should hold.
func checkPage(t *testing.T, where string, got, want []registry.AuditEntry) {
	t.Helper()
	gs, ws := seqsOf(got), seqsOf(want)
	if !slices.Equal(gs, ws) {
		t.Errorf("%s: got %d entries, seqs %v; want %d, seqs %v", where, len(gs), clip(gs), len(ws), clip(ws))
		return
	}
	for i := range want {
		for _, d := range diffAudit(got[i], want[i]) {
			t.Errorf("%s: entry %d: %s", where, want[i].Seq, d)
		}
	}
}

func seqsOf(es []registry.AuditEntry) []int64 {
	out := make([]int64, len(es))
	for i, e := range es {
		out[i] = e.Seq
	}
	return out
}

// clip shortens a long list of seqs for a message.
func clip(s []int64) []int64 { return s[:min(len(s), 20)] }

func filterEntries(all []registry.AuditEntry, keep func(registry.AuditEntry) bool) []registry.AuditEntry {
	var out []registry.AuditEntry
	for _, e := range all {
		if keep(e) {
			out = append(out, e)
		}
	}
	return out
}

func testSearchEmpty(t *testing.T, _ registry.AuditLog, s registry.AuditSearcher) {
	for _, q := range []registry.AuditQuery{{}, {RecordRefs: []string{"C1"}}, {ActorPrefix: "org:"}, {Limit: 1}} {
		if got := mustSearch(t, s, q); len(got) != 0 {
			t.Errorf("SearchAudit(%s) of an empty trail returned %d entries", describeQuery(q), len(got))
		}
	}
}

// searchCase is a query and, written independently of any store, the
// test of an entry that it must select.
type searchCase struct {
	name string
	q    registry.AuditQuery
	want func(e registry.AuditEntry) bool
	// selectsNothing marks the cases whose answer is empty by design.
	selectsNothing bool
}

// searchCases are the filters alone and combined, over searchFixture.
// t0 and t1 are instants inside the fixture's span.
func searchCases(t0, t1 time.Time) []searchCase {
	before := func(e registry.AuditEntry, t time.Time) bool { return e.At.Before(storedTime(t)) }
	in := func(v string, vs ...string) bool { return slices.Contains(vs, v) }
	hasPrefix := strings.HasPrefix
	return []searchCase{
		{name: "From", q: registry.AuditQuery{From: t0},
			want: func(e registry.AuditEntry) bool { return !before(e, t0) }},
		{name: "To", q: registry.AuditQuery{To: t0},
			want: func(e registry.AuditEntry) bool { return before(e, t0) }},
		{name: "From and To", q: registry.AuditQuery{From: t0, To: t1},
			want: func(e registry.AuditEntry) bool { return !before(e, t0) && before(e, t1) }},
		{name: "From and To in another zone", q: registry.AuditQuery{From: t0.In(time.UTC), To: t1.In(time.FixedZone("Y", -7*3600))},
			want: func(e registry.AuditEntry) bool { return !before(e, t0) && before(e, t1) }},
		{name: "From equals To", q: registry.AuditQuery{From: t0, To: t0}, selectsNothing: true,
			want: func(registry.AuditEntry) bool { return false }},
		{name: "From after To", q: registry.AuditQuery{From: t1, To: t0}, selectsNothing: true,
			want: func(registry.AuditEntry) bool { return false }},
		{name: "Actor", q: registry.AuditQuery{Actor: "org:人社局"},
			want: func(e registry.AuditEntry) bool { return e.Actor == "org:人社局" }},
		{name: "unknown Actor", q: registry.AuditQuery{Actor: "org:人社"}, selectsNothing: true,
			want: func(registry.AuditEntry) bool { return false }},
		{name: "ActorPrefix org:", q: registry.AuditQuery{ActorPrefix: "org:"},
			want: func(e registry.AuditEntry) bool { return hasPrefix(e.Actor, "org:") }},
		{name: "ActorPrefix of whole runes", q: registry.AuditQuery{ActorPrefix: "org:人社局"},
			want: func(e registry.AuditEntry) bool {
				return in(e.Actor, "org:人社局", "org:人社局/分局", "org:人社局\U0010FFFF尾")
			}},
		{name: "ActorPrefix org", q: registry.AuditQuery{ActorPrefix: "org"},
			want: func(e registry.AuditEntry) bool { return hasPrefix(e.Actor, "org") }},
		{name: "ActorPrefix ending in the highest rune", q: registry.AuditQuery{ActorPrefix: "org:人社局\U0010FFFF"},
			want: func(e registry.AuditEntry) bool { return e.Actor == "org:人社局\U0010FFFF尾" }},
		{name: "ActorPrefix equal to an actor", q: registry.AuditQuery{ActorPrefix: "public:hmac-3f2a"},
			want: func(e registry.AuditEntry) bool { return e.Actor == "public:hmac-3f2a" }},
		{name: "ActorPrefix that is no UTF-8", q: registry.AuditQuery{ActorPrefix: "org:\xe4\xba"}, selectsNothing: true,
			want: func(registry.AuditEntry) bool { return false }},
		{name: "Actor that is no UTF-8", q: registry.AuditQuery{Actor: "\xff"}, selectsNothing: true,
			want: func(registry.AuditEntry) bool { return false }},
		{name: "Actor with NUL", q: registry.AuditQuery{Actor: "org\x00"}, selectsNothing: true,
			want: func(registry.AuditEntry) bool { return false }},
		{name: "Purpose", q: registry.AuditQuery{Purpose: "入学资格审查"},
			want: func(e registry.AuditEntry) bool { return e.Purpose == "入学资格审查" }},
		{name: "one Action", q: registry.AuditQuery{Actions: []string{"holder.view"}},
			want: func(e registry.AuditEntry) bool { return e.Action == "holder.view" }},
		{name: "two Actions", q: registry.AuditQuery{Actions: []string{"verify", "code.view"}},
			want: func(e registry.AuditEntry) bool { return in(e.Action, "verify", "code.view") }},
		{name: "Actions with a prefix of one", q: registry.AuditQuery{Actions: []string{"verif"}}, selectsNothing: true,
			want: func(registry.AuditEntry) bool { return false }},
		{name: "one RecordRef", q: registry.AuditQuery{RecordRefs: []string{"C3"}},
			want: func(e registry.AuditEntry) bool { return e.RecordRef == "C3" }},
		{name: "RecordRefs, repeated and unknown", q: registry.AuditQuery{RecordRefs: []string{"C2", "nope", "C5", "C2"}},
			want: func(e registry.AuditEntry) bool { return in(e.RecordRef, "C2", "C5") }},
		{name: "the empty RecordRef", q: registry.AuditQuery{RecordRefs: []string{""}},
			want: func(e registry.AuditEntry) bool { return e.RecordRef == "" }},
		{name: "RecordRefs that are no UTF-8, and one that is", q: registry.AuditQuery{RecordRefs: []string{"\xc3", "C4"}},
			want: func(e registry.AuditEntry) bool { return e.RecordRef == "C4" }},
		{name: "holder's access log", q: registry.AuditQuery{RecordRefs: []string{"C1", "C6"}, ActorPrefix: "org:", From: t0},
			want: func(e registry.AuditEntry) bool {
				return in(e.RecordRef, "C1", "C6") && hasPrefix(e.Actor, "org:") && !before(e, t0)
			}},
		{name: "office: org, time and purpose", q: registry.AuditQuery{Actor: "org:教育厅", From: t0, To: t1, Purpose: "招聘核验"},
			want: func(e registry.AuditEntry) bool {
				return e.Actor == "org:教育厅" && !before(e, t0) && before(e, t1) && e.Purpose == "招聘核验"
			}},
		{name: "everything at once", q: registry.AuditQuery{
			From: t0, To: t1, ActorPrefix: "org:人社局", Purpose: "招聘核验",
			Actions: []string{"verify", "verify.batch", "code.view"}, RecordRefs: []string{"C1", "C2", "C3", ""}},
			want: func(e registry.AuditEntry) bool {
				return !before(e, t0) && before(e, t1) && hasPrefix(e.Actor, "org:人社局") && e.Purpose == "招聘核验" &&
					in(e.Action, "verify", "verify.batch", "code.view") && in(e.RecordRef, "C1", "C2", "C3", "")
			}},
		{name: "Actor and a prefix that disagree", q: registry.AuditQuery{Actor: "org:教育厅", ActorPrefix: "org:人"}, selectsNothing: true,
			want: func(registry.AuditEntry) bool { return false }},
	}
}

func testSearchFilters(t *testing.T, a registry.AuditLog, s registry.AuditSearcher) {
	const n = 900
	searchFixture(t, a, n)
	// Bounds with nanoseconds, so that stores must cut them as they cut
	// At, and entries exactly on the cut bounds: From takes its own, To
	// leaves its own out.
	t0 := searchEpoch.Add(n/4*time.Minute + 17*time.Second + 500*time.Nanosecond)
	t1 := searchEpoch.Add(3*n/4*time.Minute + 17*time.Second + 500*time.Nanosecond)
	var edges []registry.AuditEntry
	for _, at := range []time.Time{storedTime(t0), storedTime(t1)} {
		for _, ref := range []string{"C1", "C2", ""} {
			edges = append(edges, registry.AuditEntry{At: at, Actor: "org:教育厅", Action: "verify", RecordRef: ref, Purpose: "招聘核验"},
				registry.AuditEntry{At: at, Actor: "org:人社局/分局", Action: "code.view", RecordRef: ref, Purpose: "招聘核验"})
		}
	}
	mustAppendAudit(t, a, edges)
	all := scanAudit(t, a, 1)
	for _, tc := range searchCases(t0, t1) {
		t.Run(tc.name, func(t *testing.T) {
			want := filterEntries(all, tc.want)
			if !tc.selectsNothing && (len(want) == 0 || len(want) == len(all)) {
				t.Fatalf("fixture problem: the case selects %d of %d entries", len(want), len(all))
			}
			q := tc.q
			q.Limit = registry.MaxAuditLimit
			checkPage(t, describeQuery(q), mustSearch(t, s, q), want)
			if !slices.EqualFunc(filterEntries(all, q.Matches), want, func(x, y registry.AuditEntry) bool { return x.Seq == y.Seq }) {
				t.Errorf("AuditQuery.Matches disagrees with the case on %s", describeQuery(q))
			}
			// The same filters after a cursor.
			if len(want) > 2 {
				q.AfterSeq = want[len(want)/2].Seq
				checkPage(t, describeQuery(q), mustSearch(t, s, q), want[len(want)/2+1:])
			}
		})
	}
}

// testSearchPages: paging with AfterSeq through every answer gives each
// entry exactly once, in order, whatever the page size.
func testSearchPages(t *testing.T, a registry.AuditLog, s registry.AuditSearcher) {
	const n = 150
	all := searchFixture(t, a, n)
	t0, t1 := searchEpoch.Add(20*time.Minute), searchEpoch.Add(130*time.Minute)
	cases := []searchCase{{name: "everything", want: func(registry.AuditEntry) bool { return true }}}
	// A few cases, each served differently by an indexed store: by scan,
	// by actor range, by time, by one record, by several.
	for _, tc := range searchCases(t0, t1) {
		switch tc.name {
		case "From and To", "ActorPrefix org:", "two Actions", "one RecordRef",
			"RecordRefs, repeated and unknown", "holder's access log", "everything at once":
			cases = append(cases, tc)
		}
	}
	if len(cases) != 8 {
		t.Fatalf("found %d of the 8 paging cases: a case was renamed", len(cases))
	}
	for _, tc := range cases {
		want := filterEntries(all, tc.want)
		for _, size := range []int{1, 7, 100} {
			t.Run(fmt.Sprintf("%s/size %d", tc.name, size), func(t *testing.T) {
				q := tc.q
				q.Limit = size
				var got []registry.AuditEntry
				for pages := 0; ; pages++ {
					if pages > n {
						t.Fatalf("no end after %d pages", pages)
					}
					page := mustSearch(t, s, q)
					if len(page) > size {
						t.Fatalf("page of %d entries, limit %d", len(page), size)
					}
					got = append(got, page...)
					if len(page) < size {
						break
					}
					q.AfterSeq = page[len(page)-1].Seq
				}
				checkPage(t, "all pages of "+describeQuery(tc.q), got, want)
			})
		}
	}
}

func testSearchLimits(t *testing.T, a registry.AuditLog, s registry.AuditSearcher) {
	const n = registry.MaxAuditLimit + 150
	all := searchFixture(t, a, n)
	recent := filterEntries(all, func(e registry.AuditEntry) bool { return e.Seq > n-30 })
	tests := []struct {
		name string
		q    registry.AuditQuery
		want []registry.AuditEntry
	}{
		{"zero means the default", registry.AuditQuery{}, all[:registry.DefaultAuditLimit]},
		{"negative means the default", registry.AuditQuery{Limit: -5}, all[:registry.DefaultAuditLimit]},
		{"one", registry.AuditQuery{Limit: 1}, all[:1]},
		{"exactly the maximum", registry.AuditQuery{Limit: registry.MaxAuditLimit}, all[:registry.MaxAuditLimit]},
		{"above the maximum is cut", registry.AuditQuery{Limit: 5 * registry.MaxAuditLimit}, all[:registry.MaxAuditLimit]},
		{"more than is left", registry.AuditQuery{AfterSeq: n - 30, Limit: 100}, recent},
		{"after the last entry", registry.AuditQuery{AfterSeq: n}, nil},
		{"far after the last entry", registry.AuditQuery{AfterSeq: 1 << 50}, nil},
		{"a negative cursor", registry.AuditQuery{AfterSeq: -10, Limit: 3}, all[:3]},
	}
	for _, tc := range tests {
		checkPage(t, tc.name, mustSearch(t, s, tc.q), tc.want)
		if len(tc.want) > 0 && tc.q.PageSize() < len(tc.want) {
			t.Errorf("%s: PageSize %d is below the page the store must fill (%d)", tc.name, tc.q.PageSize(), len(tc.want))
		}
	}
}

// testSearchNewEntries: entries appended after a search are found by the
// next one, by record as by scan (a store that indexes lazily must catch
// up).
func testSearchNewEntries(t *testing.T, a registry.AuditLog, s registry.AuditSearcher) {
	all := searchFixture(t, a, 200)
	byRef := registry.AuditQuery{RecordRefs: []string{"C3"}, Limit: registry.MaxAuditLimit}
	byActor := registry.AuditQuery{Actor: "org:教育厅", Limit: registry.MaxAuditLimit}
	before := mustSearch(t, s, byRef)
	beforeActor := mustSearch(t, s, byActor)
	more := []registry.AuditEntry{
		{At: searchEpoch.Add(-time.Hour), Actor: "org:教育厅", Action: "verify", RecordRef: "C3"},
		{At: searchEpoch.Add(time.Hour), Actor: "holder:5f1c", Action: "holder.view", RecordRef: "C9"},
		{At: searchEpoch.Add(2 * time.Hour), Actor: "org:人社局", Action: "verify", RecordRef: "C3"},
	}
	mustAppendAudit(t, a, more)
	all = append(all, scanAudit(t, a, int64(len(all))+1)...)
	checkPage(t, "by record after an append", mustSearch(t, s, byRef), filterEntries(all, byRef.Matches))
	checkPage(t, "by actor after an append", mustSearch(t, s, byActor), filterEntries(all, byActor.Matches))
	if got := mustSearch(t, s, byRef); len(got) != len(before)+2 {
		t.Errorf("by record: %d entries after appending 2, %d before", len(got), len(before))
	}
	if got := mustSearch(t, s, byActor); len(got) != len(beforeActor)+1 {
		t.Errorf("by actor: %d entries after appending 1, %d before", len(got), len(beforeActor))
	}
	newRef := registry.AuditQuery{RecordRefs: []string{"C9"}}
	checkPage(t, "a record first seen in the new entries", mustSearch(t, s, newRef), filterEntries(all, newRef.Matches))

	// The first new entry was stamped before every other: a time range
	// that holds only it finds it although it was appended last, also
	// right after a cursor just below it.
	early := all[len(all)-len(more)]
	for _, q := range []registry.AuditQuery{
		{To: searchEpoch},
		{From: searchEpoch.Add(-2 * time.Hour), To: searchEpoch.Add(-time.Hour).Add(time.Microsecond)},
		{To: searchEpoch, AfterSeq: early.Seq - 1},
	} {
		checkPage(t, "a late entry stamped early: "+describeQuery(q), mustSearch(t, s, q), []registry.AuditEntry{early})
	}
	if got := mustSearch(t, s, registry.AuditQuery{To: searchEpoch, AfterSeq: early.Seq}); len(got) != 0 {
		t.Errorf("a cursor at the only entry of a range still found %d entries", len(got))
	}
}

func testSearchCancelled(t *testing.T, a registry.AuditLog, s registry.AuditSearcher) {
	searchFixture(t, a, 20)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	for _, q := range []registry.AuditQuery{{}, {RecordRefs: []string{"C1"}}, {Actor: "\xff"}} {
		if _, err := s.SearchAudit(ctx, q); err == nil {
			t.Errorf("SearchAudit(%s) with a cancelled context: no error", describeQuery(q))
		}
	}
}

// testSearchPurposeForAWhile: a purpose used only for a stretch of the
// trail is found there and nowhere else, with cursors and time ranges
// around the stretch, and a purpose nobody used finds nothing. A store
// may bound a purpose's search by where it was used (PostgreSQL's
// audit_purposes); this is what must not change when it does.
func testSearchPurposeForAWhile(t *testing.T, a registry.AuditLog, s registry.AuditSearcher) {
	const brief = "学历认证（一段时间）"
	es := make([]registry.AuditEntry, 90)
	for i := range es {
		p := "招聘核验"
		if i >= 30 && i < 60 {
			p = brief
		}
		es[i] = registry.AuditEntry{At: searchEpoch.Add(time.Duration(i) * time.Hour), Actor: "org:人社局", Action: "verify",
			RecordRef: fmt.Sprintf("C%d", i%7), Purpose: p}
	}
	for rest := es; len(rest) > 0; rest = rest[min(len(rest), 25):] {
		mustAppendAudit(t, a, rest[:min(len(rest), 25)])
	}
	all := scanAudit(t, a, 1)
	for _, q := range []registry.AuditQuery{
		{Purpose: brief},
		{Purpose: brief, AfterSeq: all[45].Seq},
		{Purpose: brief, AfterSeq: all[70].Seq},
		{Purpose: brief, From: all[50].At},
		{Purpose: brief, To: all[35].At},
		{Purpose: brief, From: all[70].At},
		{Purpose: brief, From: all[10].At, To: all[20].At},
		{Purpose: "招聘核验", From: all[40].At, To: all[65].At},
		{Purpose: "招聘核验", AfterSeq: all[10].Seq, Limit: 25},
		{Purpose: "nobody used this"},
	} {
		want := filterEntries(all, q.Matches)
		want = want[:min(len(want), q.PageSize())]
		checkPage(t, describeQuery(q), mustSearch(t, s, q), want)
	}
}
