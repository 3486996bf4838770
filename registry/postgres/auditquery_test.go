package postgres

import (
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/degreegate/degreegate/registry"
)

func TestPrefixBound(t *testing.T) {
	tests := []struct {
		prefix, want string
		ok           bool
	}{
		{"org:", "org;", true},
		{"a", "b", true},
		{"org:人社局", "org:人社\u5c41", true},
		{"x\u007f", "x\u0080", true},         // one byte to two
		{"x\u07ff", "x\u0800", true},         // two bytes to three
		{"x\uffff", "x\U00010000", true},     // three bytes to four
		{"x\ud7ff", "x\ue000", true},         // over the surrogates
		{"ab\U0010FFFF", "ac", true},         // the highest rune cannot grow
		{"a\U0010FFFF\U0010FFFF", "b", true}, // nor can two
		{"\U0010FFFF", "", false},            // nothing is above
		{"\U0010FFFF\U0010FFFF", "", false},  // nor here
		{"", "", false},                      // the empty prefix is no filter
		{"\ufffd", "\ufffe", true},           // a real U+FFFD is a rune like others
		{"a\u0000", "a\u0001", true},         // (NUL never reaches the database)
		{"public:hmac-3f2a", "public:hmac-3f2b", true},
	}
	for _, tc := range tests {
		got, ok := prefixBound(tc.prefix)
		if got != tc.want || ok != tc.ok {
			t.Errorf("prefixBound(%+q) = %+q, %v; want %+q, %v", tc.prefix, got, ok, tc.want, tc.ok)
		}
	}
}

// FuzzPrefixBound checks the property SearchAudit relies on: for valid
// UTF-8, s begins with prefix exactly when prefix <= s < bound, bytewise
// (PostgreSQL "C" collation), and the bound is valid UTF-8.
func FuzzPrefixBound(f *testing.F) {
	for _, seed := range [][2]string{
		{"org:", "org:人社局"}, {"org:人社局", "org:人社\u5c41"}, {"a\U0010FFFF", "a\U0010FFFFz"},
		{"\U0010FFFF", "\U0010FFFF\U0010FFFF"}, {"x\ud7ff", "x\ue000"}, {"ab", "ac"}, {"ab", "a"},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, prefix, s string) {
		if prefix == "" || !utf8.ValidString(prefix) || !utf8.ValidString(s) {
			t.Skip()
		}
		bound, ok := prefixBound(prefix)
		if ok && !utf8.ValidString(bound) {
			t.Fatalf("prefixBound(%+q) = %+q: not UTF-8", prefix, bound)
		}
		inRange := s >= prefix && (!ok || s < bound)
		if has := strings.HasPrefix(s, prefix); has != inRange {
			t.Fatalf("prefix %+q, bound %+q (%v), s %+q: HasPrefix %v but in range %v", prefix, bound, ok, s, has, inRange)
		}
	})
}

// TestAuditSearchSQL: the SQL names exactly the filters that are set, so
// that the planner can choose the index for them.
func TestAuditSearchSQL(t *testing.T) {
	at := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name     string
		q        registry.AuditQuery
		has, not []string
		args     int
	}{
		{"nothing", registry.AuditQuery{}, []string{"seq > $1", "LIMIT $2"}, []string{"at >=", "at <", "actor COLLATE", "purpose =", "action =", "record_ref ="}, 2},
		{"one ref", registry.AuditQuery{RecordRefs: []string{"C1"}}, []string{"record_ref = $2"}, []string{"ANY"}, 3},
		{"refs", registry.AuditQuery{RecordRefs: []string{"C1", "C2"}}, []string{"record_ref = ANY($2)"}, nil, 3},
		{"refs of which one is text", registry.AuditQuery{RecordRefs: []string{"C1", "\xff"}}, []string{"record_ref = $2"}, []string{"ANY"}, 3},
		{"time", registry.AuditQuery{From: at, To: at}, []string{"seq BETWEEN $2 AND $3", "at >= $4", "at < $5"}, []string{"actor COLLATE"}, 6},
		{"time before", registry.AuditQuery{To: at}, []string{"at < $2"}, []string{"BETWEEN", "at >="}, 3},
		{"actor", registry.AuditQuery{Actor: "org:x"}, []string{`actor COLLATE "C" = $2`}, []string{">="}, 3},
		{"prefix", registry.AuditQuery{ActorPrefix: "org:"}, []string{`actor COLLATE "C" >= $2`, `actor COLLATE "C" < $3`}, nil, 4},
		{"unbounded prefix", registry.AuditQuery{ActorPrefix: "\U0010FFFF"}, []string{`actor COLLATE "C" >= $2`}, []string{"<"}, 3},
		{"span", registry.AuditQuery{From: at}, []string{"seq BETWEEN $2 AND $3", "at >= $4"}, nil, 5},
		{"purpose and actions", registry.AuditQuery{Purpose: "p", Actions: []string{"a", "b"}}, []string{"purpose = $2", "action = ANY($3)"}, nil, 4},
	}
	for _, tc := range tests {
		if !searchable(tc.q) {
			t.Errorf("%s: the query is taken for unsearchable", tc.name)
		}
		var span *seqSpan
		if !tc.q.From.IsZero() {
			span = &seqSpan{lo: 10, hi: 20}
		}
		sql, args := auditSearchSQL(tc.q, span)
		for _, s := range tc.has {
			if !strings.Contains(sql, s) {
				t.Errorf("%s: SQL lacks %q:\n%s", tc.name, s, sql)
			}
		}
		for _, s := range tc.not {
			if strings.Contains(sql, s) {
				t.Errorf("%s: SQL has %q:\n%s", tc.name, s, sql)
			}
		}
		if len(args) != tc.args {
			t.Errorf("%s: %d arguments, want %d", tc.name, len(args), tc.args)
		}
	}
	for _, q := range []registry.AuditQuery{
		{Actor: "\xff"}, {ActorPrefix: "a\x00"}, {Purpose: "\xc3"}, {Actions: []string{"\xff"}}, {RecordRefs: []string{"\xff", "a\x00"}},
	} {
		if searchable(q) {
			t.Errorf("%+v is taken for searchable, but no text column holds its value", q)
		}
	}
}

// FuzzAuditSearchSQL: whatever an official types into a filter, the
// query text depends only on which filters are set (values travel as
// arguments, never inside the SQL), and it names each argument it gets.
func FuzzAuditSearchSQL(f *testing.F) {
	f.Add("org:x", "org:", "招聘核验", "verify", "C1", int64(0), 10, true)
	f.Add("'; DROP TABLE audit_entries; --", "$1", "\x00", "", "\xff", int64(-1), -5, false)
	f.Fuzz(func(t *testing.T, actor, prefix, purpose, action, ref string, after int64, limit int, timed bool) {
		// q holds the values typed; shape the same filters with values
		// of no interest.
		q := registry.AuditQuery{Actor: actor, ActorPrefix: prefix, Purpose: purpose, AfterSeq: after, Limit: limit}
		shape := registry.AuditQuery{AfterSeq: 1, Limit: 1}
		set := func(v, stand string) string {
			if v == "" {
				return ""
			}
			return stand
		}
		shape.Actor, shape.Purpose = set(actor, "a"), set(purpose, "u")
		shape.ActorPrefix = set(prefix, "p")
		if _, ok := prefixBound(prefix); !ok {
			shape.ActorPrefix = set(prefix, "\U0010FFFF")
		}
		if action != "" {
			q.Actions, shape.Actions = []string{action, action + "x"}, []string{"b", "bx"}
		}
		if ref != "" {
			q.RecordRefs, shape.RecordRefs = []string{ref}, []string{"r"}
		}
		var span *seqSpan
		if timed {
			q.From, shape.From = time.Unix(0, 0), time.Unix(1, 0)
			span = &seqSpan{lo: 1, hi: 2}
		}
		if !searchable(q) {
			return
		}
		sql, args := auditSearchSQL(q, span)
		if want, _ := auditSearchSQL(shape, span); sql != want {
			t.Fatalf("the SQL depends on the values:\n%s\nnot\n%s", sql, want)
		}
		bare := sql
		for i := len(args); i >= 1; i-- {
			p := "$" + strconv.Itoa(i)
			if !strings.Contains(bare, p) {
				t.Fatalf("argument %s is not used:\n%s", p, sql)
			}
			bare = strings.ReplaceAll(bare, p, "?")
		}
		if strings.Contains(bare, "$") {
			t.Fatalf("a placeholder without an argument:\n%s", sql)
		}
	})
}
