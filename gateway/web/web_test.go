package web

import (
	"bytes"
	"io/fs"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/degreegate/degreegate/policies"
)

func TestNegotiate(t *testing.T) {
	cases := []struct {
		query, accept string
		want          Lang
	}{
		{"", "", Chinese},
		{"en", "", English},
		{"EN", "zh-CN,zh;q=0.9", English},
		{"zh", "en-US,en;q=0.9", Chinese},
		{"", "en-US,en;q=0.9", English},
		{"", "en-GB", English},
		{"", "zh-TW,zh;q=0.9,en;q=0.5", Chinese},
		{"", "zh-CN", Chinese},
		{"", "fr-FR,de;q=0.8", Chinese},             // neither: the default
		{"", "fr-FR,en;q=0.5", English},             // English is acceptable, Chinese is not
		{"", "de;q=0.9,zh;q=0.8,en;q=0.7", Chinese}, // Chinese preferred over English
		{"fr", "en", English},                       // unknown ?lang falls through
		{"", "\x00garbage;;q=x", Chinese},
		{"", strings.Repeat("en,", 200), Chinese}, // absurdly long header ignored
	}
	for _, c := range cases {
		if got := Negotiate(c.query, c.accept); got != c.want {
			t.Errorf("Negotiate(%q, %.40q) = %s, want %s", c.query, c.accept, got, c.want)
		}
	}
}

func FuzzNegotiate(f *testing.F) {
	for _, s := range []string{"", "en", "zh-CN,zh;q=0.9", "en-US;q=0.5,*;q=0.1", "x;q=2"} {
		f.Add("", s)
		f.Add(s, "")
	}
	f.Fuzz(func(t *testing.T, q, accept string) {
		if l := Negotiate(q, accept); l != Chinese && l != English {
			t.Fatalf("Negotiate gave %q", l)
		}
	})
}

// TestEveryTextExistsInBothLanguages: each message key the templates and
// the gateway use exists, and nothing is left untranslated.
func TestEveryTextExistsInBothLanguages(t *testing.T) {
	for k, m := range messages {
		if m.zh == "" || m.en == "" {
			t.Errorf("message %q lacks a language", k)
		}
	}
	used := regexp.MustCompile(`\.T "([a-z0-9_.]+)"|T \.Lang\.Other "([a-z0-9_.]+)"`)
	err := fs.WalkDir(templateFS, "templates", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, _ := templateFS.ReadFile(p)
		for _, m := range used.FindAllStringSubmatch(string(b), -1) {
			key := m[1] + m[2]
			if _, ok := messages[key]; !ok {
				t.Errorf("%s uses message %q, which does not exist", p, key)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, status := range []int{400, 403, 404, 410, 413, 415, 429, 500, 503} {
		if key := "error." + strconv.Itoa(status); T(English, key) == key {
			t.Errorf("no text for status %d", status)
		}
	}
	for _, m := range policies.Masks() {
		if m == policies.MaskClear || m == policies.MaskDrop {
			continue
		}
		if _, ok := messages["mask."+string(m)]; !ok {
			t.Errorf("mask %q has no explanation for the privacy note", m)
		}
	}
	for _, f := range policies.Fields() {
		b, ok := fieldLabels[f.Name]
		if !ok || b.zh == "" || b.en == "" {
			t.Errorf("field %q lacks a label in both languages", f.Name)
		}
	}
	for field := range valueLabels {
		if _, ok := policies.LookupField(field); !ok {
			t.Errorf("value labels for %q, which is no field of the contract", field)
		}
	}
}

func TestRowsFollowTheContractOrderAndTranslate(t *testing.T) {
	d := map[string]string{"conferral_date": "2019-06", "name": "张*丰", "degree_level": "master", "status": "filed", "unit_name": "某大学", "empty": ""}
	for _, l := range []Lang{Chinese, English} {
		rows := Rows(l, d)
		var got []string
		for _, r := range rows {
			got = append(got, r.Field)
			if r.Label == "" || r.Other == "" || r.Label == r.Other {
				t.Errorf("%s: row %s labelled %q / %q", l, r.Field, r.Label, r.Other)
			}
		}
		if strings.Join(got, ",") != "name,unit_name,degree_level,conferral_date" {
			t.Errorf("%s: rows %v: want contract order, no status, no unknown field", l, got)
		}
		level := rows[2].Value
		if (l == Chinese && level != "硕士") || (l == English && level != "Master") {
			t.Errorf("%s: degree level shown as %q", l, level)
		}
		if rows[1].Value != "某大学" {
			t.Errorf("a free-text value was changed: %q", rows[1].Value)
		}
	}
}

func TestPrivacyNoteNamesMasksAndHiddenFields(t *testing.T) {
	rules := []policies.FieldRule{{Field: "name", Mask: policies.MaskName}, {Field: "unit_name", Mask: policies.MaskClear},
		{Field: "conferral_date", Mask: policies.MaskDateYearMonth}, {Field: "phone", Mask: policies.MaskDrop}}
	p := NewPrivacy(Chinese, rules, false)
	if len(p.Masked) != 2 || p.Masked[0].Label != "姓名" || p.Masked[1].Label != "授予日期" {
		t.Errorf("masked %+v", p.Masked)
	}
	hidden := strings.Join(p.Hidden, ",")
	for _, want := range []string{"证件号码", "出生日期", "电话", "电子邮箱", "学号", "论文题目"} {
		if !strings.Contains(hidden, want) {
			t.Errorf("hidden list %q lacks %s", hidden, want)
		}
	}
	for _, shown := range []string{"姓名", "学位授予单位"} {
		for _, h := range p.Hidden {
			if h == shown {
				t.Errorf("%s is shown but listed as hidden", shown)
			}
		}
	}
}

func TestQRIsSVGFromTheBitmapOnly(t *testing.T) {
	link := `https://example.org/?certificate_number=1000142020123456&x="><script>`
	q, err := NewQR(link, "alt")
	if err != nil {
		t.Fatal(err)
	}
	s := string(q.SVG)
	if !strings.HasPrefix(s, "<svg") || !strings.HasSuffix(s, "</svg>") || strings.Contains(s, "script") || strings.Contains(s, "example") {
		t.Fatalf("svg holds more than the drawing: %.200s", s)
	}
	// A longer link needs a larger symbol: the drawing depends on the content.
	q2, _ := NewQR(link+strings.Repeat("x", 100), "alt")
	if q2.SVG == q.SVG {
		t.Error("different links, same drawing")
	}
	if _, err := NewQR(strings.Repeat("x", maxQRLink+1), "alt"); err == nil {
		t.Error("an over-long link was encoded")
	}
}

func TestReceiptURLOnlyForJWS(t *testing.T) {
	for _, c := range []struct {
		jws string
		ok  bool
	}{
		{"eyJhbGciOiJFZERTQSJ9.eyJhIjoxfQ.c2ln", true},
		{"javascript:alert(1)", false},
		{"a.b.c\" onmouseover=\"x", false},
		{"", false},
	} {
		r := &Result{Receipt: c.jws}
		if got := r.ReceiptURL() != ""; got != c.ok {
			t.Errorf("ReceiptURL(%q) given: %v, want %v", c.jws, got, c.ok)
		}
	}
}

func TestRenderEveryKindOfPage(t *testing.T) {
	r, err := New()
	if err != nil {
		t.Fatal(err)
	}
	qr, _ := NewQR("http://127.0.0.1/?certificate_number=1", "alt")
	at := time.Date(2024, 5, 1, 2, 3, 0, 0, time.UTC)
	pages := map[string]*Page{
		"home":    {Lang: Chinese, Home: true},
		"match":   {Lang: English, Result: &Result{Match: true, CertificateNumber: "1", Rows: Rows(English, map[string]string{"name": "张*"}), Receipt: "a.b.c", CheckedAt: at, QR: qr}, Privacy: NewPrivacy(English, nil, false)},
		"revoked": {Lang: Chinese, Result: &Result{Match: true, Revoked: true, CertificateNumber: "1", CheckedAt: at}},
		"nomatch": {Lang: Chinese, Home: true, Result: &Result{CertificateNumber: "1"}},
		"error":   {Lang: English, Problem: &Problem{Status: 429, RetryAfter: 3}},
		"invalid": {Lang: Chinese, Home: true, Problem: &Problem{Status: 400, Fields: map[string]string{"name": "error.required"}}, Form: VerifyForm{Errors: map[string]string{"name": "error.required"}}},
		"code":    {Lang: Chinese, Home: true, Code: CodeForm{Error: "error.code_shape"}},
	}
	for name, p := range pages {
		var b bytes.Buffer
		if err := r.Render(&b, p); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		s := b.String()
		if !strings.HasPrefix(s, "<!doctype html>") || !strings.Contains(s, `lang="`+p.Lang.Tag()+`"`) {
			t.Errorf("%s: not a whole document in %s", name, p.Lang)
		}
		if name == "error" && !strings.Contains(s, "Please try again in 3 seconds.") {
			t.Errorf("the 429 page does not say when to try again as a sentence")
		}
		if strings.Contains(s, "ZgotmplZ") || strings.Contains(s, "%!") {
			t.Errorf("%s: html/template refused a value", name)
		}
		if strings.Contains(s, "error.") || strings.Contains(s, "result.") {
			t.Errorf("%s: a message key shows instead of its text", name)
		}
	}
	if _, _, ok := r.Asset("site.css"); !ok {
		t.Error("no style sheet")
	}
	if _, _, ok := r.Asset("../web.go"); ok {
		t.Error("asset lookup reaches outside the assets")
	}
}

// A bachelor's record kind and degree level read differently: "学士"
// (Bachelor) is not shown twice (issue 16, item 22).
func TestRecordKindIsNotTheLevelAgain(t *testing.T) {
	for _, l := range []Lang{Chinese, English} {
		for _, kind := range []string{"postgraduate", "equivalent", "bachelor"} {
			for _, level := range []string{"doctor", "master", "bachelor"} {
				seen := map[string]bool{}
				for _, r := range Rows(l, policies.Disclosure{"kind": kind, "degree_level": level}) {
					if seen[r.Value] {
						t.Errorf("%s, kind %s, level %s: %q shown twice", l, kind, level, r.Value)
					}
					seen[r.Value] = true
				}
			}
		}
	}
}
