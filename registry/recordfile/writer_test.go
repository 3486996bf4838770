package recordfile

import (
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/degreegate/degreegate/registry"
)

func TestRoundTrip(t *testing.T) {
	recs := manyRecords(500)
	for _, f := range []Format{CSV, JSONL} {
		t.Run(string(f), func(t *testing.T) {
			file := writeAll(t, recs, f)
			rows, err := readAll(t, file, f, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if len(rows) != len(recs) {
				t.Fatalf("read %d rows, wrote %d", len(rows), len(recs))
			}
			prev := 0
			for i, row := range rows {
				if len(row.Problems) > 0 {
					t.Errorf("row %d: problems %v", i, row.Problems)
				}
				if row.Line <= prev {
					t.Errorf("row %d: line %d after line %d", i, row.Line, prev)
				}
				prev = row.Line
				if !reflect.DeepEqual(row.Record, recs[i]) {
					t.Errorf("row %d differs:\n got %+v\nwant %+v", i, row.Record, recs[i])
				}
			}
		})
	}
}

// TestCSVLineNumbers checks Row.Line against the lines the writer produced:
// each record starts one line after the previous record's line breaks.
func TestCSVLineNumbers(t *testing.T) {
	recs := manyRecords(100)
	rows, err := readAll(t, writeAll(t, recs, CSV), CSV, Options{})
	if err != nil {
		t.Fatal(err)
	}
	line := 2 // after the header
	for i, row := range rows {
		if row.Line != line {
			t.Fatalf("record %d: Line = %d, want %d", i, row.Line, line)
		}
		r := recs[i]
		line += 1 + strings.Count(r.Name+r.ThesisTitle+r.RevocationReason+r.UnitName, "\n")
	}
}

func TestColumnsMatchRecordJSON(t *testing.T) {
	cols := Columns()
	if len(cols) != reflect.TypeFor[registry.Record]().NumField() {
		t.Errorf("%d columns for %d Record fields", len(cols), reflect.TypeFor[registry.Record]().NumField())
	}
	// Every JSON key of a record with every field set is a column, in the
	// same order, so the two formats agree on names.
	r := sampleRecords()[0]
	r.ApplicationNumber, r.ApplicationMonth = "x", registry.NewMonth(2020, 1)
	r.TrainingUnit, r.ProgrammeYears, r.StudyForm = "x", 3, "x"
	r.RevokedOn, r.RevocationResolution, r.RevocationReason = registry.NewDate(2021, 1, 1), "x", "x"
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	var keys []string
	if _, err := dec.Token(); err != nil {
		t.Fatal(err)
	}
	for dec.More() {
		k, _ := dec.Token()
		keys = append(keys, k.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	if !slices.Equal(sortedCopy(keys), sortedCopy(cols)) {
		t.Errorf("JSON keys %v\n columns %v", keys, cols)
	}
	if c := Columns(); &c[0] == &cols[0] {
		t.Error("Columns returns a shared slice")
	}
	// DESIGN.md order: the first and last few, and the groups' starts.
	for i, want := range map[int]string{0: "kind", 1: "name", 11: "unit_code", 24: "supervisor_name", len(cols) - 1: "revocation_reason"} {
		if cols[i] != want {
			t.Errorf("column %d = %q, want %q", i, cols[i], want)
		}
	}
}

func sortedCopy(s []string) []string { s = slices.Clone(s); slices.Sort(s); return s }

func TestWriterRefusesWhatCannotRoundTrip(t *testing.T) {
	tests := []struct {
		name   string
		f      Format
		modify func(*registry.Record)
		field  string
	}{
		{"not UTF-8", CSV, func(r *registry.Record) { r.Name = "\xd5\xc5" }, "name"},
		{"not UTF-8 in JSONL", JSONL, func(r *registry.Record) { r.ThesisTitle = "ok\xff" }, "thesis_title"},
		{"carriage return", CSV, func(r *registry.Record) { r.ThesisTitle = "a\r\nb" }, "thesis_title"},
		{"impossible date", CSV, func(r *registry.Record) { r.BirthDate = registry.NewDate(2023, 2, 30) }, "birth_date"},
		{"impossible date in JSONL", JSONL, func(r *registry.Record) { r.ConferralDate = registry.NewDate(2023, 4, 31) }, "conferral_date"},
		{"five-digit year", CSV, func(r *registry.Record) { r.RevokedOn = registry.NewDate(10000, 1, 1) }, "revoked_on"},
		{"bad month", JSONL, func(r *registry.Record) { r.EnrolmentMonth = registry.NewMonth(2020, 13) }, "enrolment_month"},
		{"keyword with ;", CSV, func(r *registry.Record) { r.ThesisKeywords = []string{"a;b"} }, "thesis_keywords"},
		{"keyword with spaces around", CSV, func(r *registry.Record) { r.ThesisKeywords = []string{" a"} }, "thesis_keywords"},
		{"empty keyword", CSV, func(r *registry.Record) { r.ThesisKeywords = []string{"a", ""} }, "thesis_keywords"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := sampleRecords()[0]
			tt.modify(&r)
			var b strings.Builder
			w, err := NewWriter(&b, tt.f)
			if err != nil {
				t.Fatal(err)
			}
			err = w.Write(&r)
			if !errors.Is(err, ErrNotWritable) || !strings.Contains(err.Error(), tt.field) {
				t.Fatalf("Write = %v, want ErrNotWritable naming %s", err, tt.field)
			}
			if err := w.Flush(); err != nil {
				t.Fatal(err)
			}
			// Nothing of the refused record was written.
			if strings.Contains(b.String(), "张伟") {
				t.Errorf("refused record was partly written: %q", b.String())
			}
		})
	}
	// What JSONL can carry, it takes.
	r := sampleRecords()[0]
	r.ThesisTitle, r.ThesisKeywords = "a\r\nb", []string{" spaced ", "a;b"}
	rows, err := readAll(t, writeAll(t, []registry.Record{r}, JSONL), JSONL, Options{})
	if err != nil || len(rows) != 1 || !reflect.DeepEqual(rows[0].Record, r) {
		t.Errorf("JSONL round trip of CR and odd keywords: rows %+v, err %v", rows, err)
	}
}

func TestWriterFormat(t *testing.T) {
	csvFile := writeAll(t, nil, CSV)
	if want := strings.Join(Columns(), ",") + "\n"; csvFile != want {
		t.Errorf("empty CSV = %q, want the header %q", csvFile, want)
	}
	if rows, err := readAll(t, csvFile, CSV, Options{}); err != nil || len(rows) != 0 {
		t.Errorf("header-only file read as %v, %v", rows, err)
	}
	r := sampleRecords()[1]
	r.UnitName = "<A&B>"
	jl := writeAll(t, []registry.Record{r, r}, JSONL)
	lines := strings.Split(strings.TrimSuffix(jl, "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("JSONL of 2 records has %d lines", len(lines))
	}
	if !strings.Contains(lines[0], `"unit_name":"<A&B>"`) {
		t.Errorf("JSONL escapes HTML: %s", lines[0])
	}
	if _, err := NewWriter(&strings.Builder{}, "xml"); err == nil {
		t.Error("NewWriter accepted format xml")
	}
}

func TestWriterReportsWriteError(t *testing.T) {
	for _, f := range []Format{CSV, JSONL} {
		w, err := NewWriter(failWriter{}, f)
		if err != nil {
			t.Fatal(err)
		}
		r := sampleRecords()[0]
		_ = w.Write(&r)
		if err := w.Flush(); err == nil {
			t.Errorf("%s: Flush to a failing writer = nil", f)
		}
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestFormatOf(t *testing.T) {
	tests := []struct {
		name string
		want Format
		ok   bool
	}{
		{"records.csv", CSV, true},
		{"/tmp/X.CSV", CSV, true},
		{"a.jsonl", JSONL, true},
		{"a.ndjson", JSONL, true},
		{"a.NDJSON", JSONL, true},
		{"a.json", "", false},
		{"a.csv.gz", "", false},
		{"张三", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		got, err := FormatOf(tt.name)
		if got != tt.want || (err == nil) != tt.ok {
			t.Errorf("FormatOf(%q) = %q, %v; want %q, ok=%v", tt.name, got, err, tt.want, tt.ok)
		}
		if err != nil && strings.Contains(err.Error(), "张三") {
			t.Errorf("FormatOf error quotes the file name: %v", err)
		}
	}
}
