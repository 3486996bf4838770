package registry

import (
	"testing"
	"time"
)

func TestCertificateFrom2016(t *testing.T) {
	// Postgraduate base: unit 10001, doctor (2), conferred 2023.
	pg := vPostgraduate
	set := func(n string) func(*Record) { return func(r *Record) { r.CertificateNumber = n } }
	mismatch := want{"certificate_number", CodeMismatch}
	format := one("certificate_number", CodeFormat)
	runValidateCases(t, []validateCase{
		{"valid", pg, set("1000122023999999"), nil},
		{"15 digits", pg, set("100012202300012"), format},
		{"17 digits", pg, set("10001220230001234"), format},
		{"letter prefix", pg, set("A000122023000123"), format},
		{"legacy form after 2016", pg, set("B2023000123"), format},
		{"full-width digits", pg, set("１０００１２２０２３０００１２３"), format},
		{"other unit", pg, set("1000222023000123"), []want{mismatch}},
		{"master digit", pg, set("1000132023000123"), []want{mismatch}},
		{"bachelor digit", pg, set("1000142023000123"), []want{mismatch}},
		{"level digit 1", pg, set("1000112023000123"), format},
		{"level digit 5", pg, set("1000152023000123"), format},
		{"other year", pg, set("1000122022000123"), []want{mismatch}},
		{"unit, level and year all differ", pg, set("1000232022000123"), []want{mismatch, mismatch, mismatch}},
		{"first year of the rule", pg, func(r *Record) {
			r.ConferralDate = NewDate(2016, time.January, 1)
			r.GraduationMonth = NewMonth(2015, time.December)
			r.EnrolmentMonth = NewMonth(2011, time.September)
			r.CertificateNumber = "B2016000123"
		}, format},
	})
}

func TestCertificateBefore2016(t *testing.T) {
	// Bachelor base moved to 2011–2015: unit 10001, bachelor (4).
	ba := func(t testing.TB) Record {
		r := vBachelor(t)
		setBachelorYears(&r, 2011, 2015)
		return r
	}
	set := func(n string) func(*Record) { return func(r *Record) { r.CertificateNumber = n } }
	format := one("certificate_number", CodeFormat)
	runValidateCases(t, []validateCase{
		{"national form", ba, set("1000142015001234"), nil},
		{"national form wrong year", ba, set("1000142014001234"), one("certificate_number", CodeMismatch)},
		{"national form wrong level", ba, set("1000132015001234"), one("certificate_number", CodeMismatch)},
		{"16 digits of another scheme", ba, set("2015100010001234"), nil},
		{"digits only", ba, set("201500123"), nil},
		{"17 digits", ba, set("10001420150012345"), nil},
		{"one-letter prefix", ba, set("B2015001234"), nil},
		{"four-letter prefix", ba, set("PKUB2015001234"), nil},
		{"five-letter prefix", ba, set("PKUBS2015001234"), format},
		{"too short", ba, set("B2015"), format},
		{"18 characters", ba, set("B20150012345678901"), format},
		{"lower-case prefix", ba, set("b2015001234"), format},
		{"letters after digits", ba, set("2015001234B"), format},
		{"separator", ba, set("2015-001234"), format},
		{"letters only", ba, set("ABCDEFG"), format},
	})
}

func TestCertificateRule(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(*Record)
		rule   CertificateRule
	}{
		{"2020 national", func(r *Record) {}, CertGB2016},
		{"2015 national", func(r *Record) { setBachelorYears(r, 2011, 2015) }, CertGB2016},
		{"2015 legacy", func(r *Record) { setBachelorYears(r, 2011, 2015); r.CertificateNumber = "B2015001234" }, CertLegacy},
		{"2015 other 16 digits", func(r *Record) { setBachelorYears(r, 2011, 2015); r.CertificateNumber = "9999942015001234" }, CertLegacy},
		{"2020 bad", func(r *Record) { r.CertificateNumber = "B2020001234" }, ""},
		{"missing", func(r *Record) { r.CertificateNumber = "" }, ""},
		{"no conferral date, national", func(r *Record) { r.ConferralDate = Date{} }, CertGB2016},
		{"no conferral date, legacy", func(r *Record) { r.ConferralDate = Date{}; r.CertificateNumber = "B2020001234" }, CertLegacy},
		{"mismatching parts still national", func(r *Record) { r.CertificateNumber = "1000132019001234" }, CertGB2016},
	}
	for _, c := range cases {
		r := vBachelor(t)
		c.mutate(&r)
		if got := Validate(&r, vToday).CertificateRule; got != c.rule {
			t.Errorf("%s: rule %q, want %q", c.name, got, c.rule)
		}
	}
}
