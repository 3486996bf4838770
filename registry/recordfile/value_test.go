package recordfile

import (
	"strings"
	"testing"

	"github.com/degreegate/degreegate/registry"
)

func TestValueMatchesWhatTheCSVWriterWrites(t *testing.T) {
	r := registry.Record{
		Kind: registry.KindPostgraduate, Name: "欧阳娜娜", BirthDate: registry.NewDate(1990, 2, 3),
		EnrolmentMonth: registry.NewMonth(2012, 9), ThesisKeywords: []string{"隐私", "k-匿名"},
		ThesisClassified: false, ProgrammeYears: 0,
	}
	var b strings.Builder
	w, _ := NewWriter(&b, CSV)
	if err := w.Write(&r); err != nil {
		t.Fatal(err)
	}
	w.Flush()
	rd, err := NewReader(strings.NewReader(b.String()), CSV, Options{})
	if err != nil {
		t.Fatal(err)
	}
	row, err := rd.Next()
	if err != nil {
		t.Fatal(err)
	}
	header := Columns()
	cells := strings.Split(strings.Split(b.String(), "\n")[1], ",")
	for i, name := range header {
		got, ok := Value(&row.Record, name)
		if got != strings.Trim(cells[i], `"`) || ok != (got != "") {
			t.Errorf("Value(%s) = %q, %v; the CSV holds %q", name, got, ok, cells[i])
		}
	}
	if v, ok := Value(&r, "no_such_field"); ok || v != "" {
		t.Error("unknown field has a value")
	}
	if v, _ := Value(&r, "thesis_classified"); v != "false" {
		t.Errorf("thesis_classified = %q, want false (policies treat a missing flag as classified)", v)
	}
}

// BenchmarkValue reads every field of a sample record by name, as a
// policy's Apply does on the public verification path.
func BenchmarkValue(b *testing.B) {
	r := registry.Record{
		Kind: registry.KindPostgraduate, Name: "欧阳娜娜", BirthDate: registry.NewDate(1990, 2, 3),
		EnrolmentMonth: registry.NewMonth(2012, 9), ThesisKeywords: []string{"隐私", "k-匿名"},
		CertificateNumber: "1000132019000123", Status: registry.StatusFiled, ProgrammeYears: 4,
	}
	names := Columns()
	b.ReportAllocs()
	for b.Loop() {
		for _, name := range names {
			Value(&r, name)
		}
	}
}
