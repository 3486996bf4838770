package disclose

import (
	"encoding/json"
	"maps"
	"slices"
	"testing"

	"github.com/degreegate/degreegate/policies"
)

var jsonStringCases = []string{
	"", "plain", "张*三", "阿依古丽·买买提", `quote " backslash \ slash /`,
	"<script>&amp;</script>", "\x00\x01\b\f\n\r\t\x1f\x7f", "line\u2028sep\u2029",
	"bad \xff\xfe utf8", "\xe4\xb8", "emoji 😀", "\u00e9\u0301",
}

// TestAppendJSONString holds the hand-written encoder to encoding/json's
// output byte for byte.
func TestAppendJSONString(t *testing.T) {
	for _, s := range jsonStringCases {
		want, _ := json.Marshal(s)
		if got := appendJSONString(nil, s); string(got) != string(want) {
			t.Errorf("appendJSONString(%q) = %s, json.Marshal = %s", s, got, want)
		}
	}
}

func FuzzAppendJSONString(f *testing.F) {
	for _, s := range jsonStringCases {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, _ := json.Marshal(s)
		if got := appendJSONString(nil, s); string(got) != string(want) {
			t.Fatalf("appendJSONString(%q) = %s, json.Marshal = %s", s, got, want)
		}
	})
}

// shownOf is d as the policy lists it: in field-name order.
func shownOf(d policies.Disclosure) []policies.Shown {
	var out []policies.Shown
	for _, k := range slices.Sorted(maps.Keys(d)) {
		out = append(out, policies.Shown{Field: k, Value: d[k]})
	}
	return out
}

func TestAppendShown(t *testing.T) {
	for _, d := range []policies.Disclosure{
		{},
		{"name": "张*三"},
		{"unit_name": "北京大学", "name": "欧阳**", "conferral_date": "2019-06", "degree_level": "<b>"},
	} {
		want, _ := json.Marshal(d)
		if got := appendShown(nil, shownOf(d)); string(got) != string(want) {
			t.Errorf("appendShown = %s, json.Marshal = %s", got, want)
		}
		want, _ = json.Marshal(d.Fields())
		if len(d) == 0 {
			want = []byte("[]")
		}
		if got := appendFieldNames(nil, shownOf(d)); string(got) != string(want) {
			t.Errorf("appendFieldNames = %s, json.Marshal = %s", got, want)
		}
	}
}

// TestHandEncodedBodies: the receipt payload and the verify answer are
// the objects json.Marshal writes for the same values.
func TestHandEncodedBodies(t *testing.T) {
	degree := policies.Disclosure{"name": "欧阳*", "unit_name": "清华大学 <&>", "conferral_date": "2019-06"}
	enc := appendShown(nil, shownOf(degree))
	rc := receipt{Issuer: "degreegate", ID: "ID", IssuedAt: 1700000000, Result: "match", Status: "valid",
		CertificateNumber: "1000142019000123", Degree: degree, PolicyVersion: "2020.1"}
	want, _ := json.Marshal(rc)
	if got := rc.appendJSON(nil, enc); string(got) != string(want) {
		t.Errorf("receipt payload\n got %s\nwant %s", got, want)
	}
	rc.Log = &receiptLog{Origin: "verify.example/log \"q\"", LeafIndex: 41, LeafHash: "AAEC"}
	want, _ = json.Marshal(rc)
	if got := rc.appendJSON(nil, enc); string(got) != string(want) {
		t.Errorf("receipt payload naming its leaf\n got %s\nwant %s", got, want)
	}
	for _, a := range []PublicAnswer{
		{},
		{Match: true, Status: "revoked", Shown: shownOf(degree), Degree: enc, Receipt: []byte("a.b.c")},
		{Match: true, Status: "valid", Receipt: []byte("a.b.c")},
	} {
		r := verifyResponse{Result: "no_match"}
		if a.Match {
			r = verifyResponse{Result: "match", Status: a.Status, Receipt: string(a.Receipt)}
			if len(a.Shown) > 0 {
				r.Degree = degree
			}
		}
		want, _ := json.Marshal(r)
		if got := a.AppendJSON(nil); string(got) != string(want) {
			t.Errorf("answer\n got %s\nwant %s", got, want)
		}
	}
}

// verifyResponse is POST /v1/verify's answer as DESIGN.md gives it.
type verifyResponse struct {
	Result  string              `json:"result"`
	Status  string              `json:"status,omitempty"`
	Degree  policies.Disclosure `json:"degree,omitempty"`
	Receipt string              `json:"receipt,omitempty"`
}
