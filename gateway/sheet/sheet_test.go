package sheet

import (
	"archive/zip"
	"bytes"
	"encoding/csv"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/simplifiedchinese"
)

// xlsxBytes is a workbook with rows on its first sheet, written the way
// an office's spreadsheet program would (cell by cell, not streamed).
func xlsxBytes(t testing.TB, rows [][]string) []byte {
	t.Helper()
	x := excelize.NewFile()
	defer x.Close()
	for i, row := range rows {
		for j, v := range row {
			cell, _ := excelize.CoordinatesToCellName(j+1, i+1)
			if err := x.SetCellStr("Sheet1", cell, v); err != nil {
				t.Fatal(err)
			}
		}
	}
	buf, err := x.WriteToBuffer()
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// asXLSX is a CSV text as a workbook with the same cells.
func asXLSX(t testing.TB, text string) []byte {
	t.Helper()
	r := csv.NewReader(strings.NewReader(text))
	r.FieldsPerRecord = -1
	rows, err := r.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return xlsxBytes(t, rows)
}

// zipBomb is an XLSX-shaped archive whose sheet inflates to 32 MiB.
func zipBomb(t testing.TB) []byte {
	var buf bytes.Buffer
	z := zip.NewWriter(&buf)
	w, _ := z.Create("[Content_Types].xml")
	w.Write([]byte(`<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>`))
	w, _ = z.Create("xl/worksheets/sheet1.xml")
	w.Write(bytes.Repeat([]byte(" "), 32<<20))
	if err := z.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestReadRowCap(t *testing.T) {
	head := "certificate_number,name\n"
	row := "1000142020123456,张三\n"
	for _, tc := range []struct {
		name    string
		body    string
		cap     int
		wantErr error
		want    int
	}{
		{"at the cap", head + strings.Repeat(row, 3), 3, nil, 3},
		{"blank rows do not count", head + strings.Repeat(row+",\n\n", 3), 3, nil, 3},
		{"one over", head + strings.Repeat(row, 4), 3, ErrTooManyRows, 0},
		{"far over", head + strings.Repeat(row, 5000), 3, ErrTooManyRows, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, format := range []string{CSV, XLSX} {
				body := []byte(tc.body)
				if format == XLSX {
					body = asXLSX(t, tc.body)
				}
				tb, err := Read(format, body, tc.cap, nil)
				if !errors.Is(err, tc.wantErr) || err == nil && len(tb.Rows) != tc.want {
					t.Errorf("%s: err %v, want %v", format, err, tc.wantErr)
				}
			}
		})
	}
}

func TestRead(t *testing.T) {
	text := " Ref ,Certificate_Number,NAME\n" + // names are trimmed and lower-cased
		"r1,1000,张三\n" +
		",,\n" + // blank rows are left out
		"r2\n" + // a short row is padded
		"r3,1001,李四,extra\n" // a long one is cut to the header
	want := &Table{
		Header: []string{"ref", "certificate_number", "name"},
		Rows:   [][]string{{"r1", "1000", "张三"}, {"r2", "", ""}, {"r3", "1001", "李四"}},
	}
	gbk, err := simplifiedchinese.GB18030.NewEncoder().Bytes([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, format string
		body         []byte
		bom          bool
	}{
		{"csv", CSV, []byte(text), false},
		{"csv with BOM", CSV, append([]byte("\uFEFF"), text...), true},
		{"csv in GB 18030", CSV, gbk, true},
		{"xlsx", XLSX, asXLSX(t, text), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Read(tc.format, tc.body, 10, nil)
			if err != nil {
				t.Fatal(err)
			}
			if got.Format != tc.format || got.BOM != tc.bom || !slices.Equal(got.Header, want.Header) ||
				!slices.EqualFunc(got.Rows, want.Rows, slices.Equal) {
				t.Errorf("got %+v, want header %v rows %v (BOM %v)", got, want.Header, want.Rows, tc.bom)
			}
		})
	}
}

func TestReadRefusals(t *testing.T) {
	wide := strings.Repeat("a,", MaxColumns) + "name\n"
	for _, tc := range []struct {
		name, format string
		body         []byte
		check        func([]string) string
		want         string // the reason; "" for ErrFormat
	}{
		{"unknown format", "text/plain", []byte("a\n"), nil, ""},
		{"empty", CSV, nil, nil, "empty: want a header row, then one row per query"},
		{"header too wide", CSV, []byte(wide), nil, "header: more than 64 columns"},
		{"row too wide", CSV, []byte("name\nx\n" + wide), nil, "row 3: more than 64 columns"},
		{"broken quotes", CSV, []byte("name\n\"a,b\n"), nil, `line 2: extraneous or missing " in quoted-field`},
		{"not text", CSV, []byte("name\n\xff\xfe\xfd\x80\n"), nil, "not UTF-8 or GB 18030 text"},
		{"not a workbook", XLSX, []byte("PK\x03\x04 not really"), nil, "not a readable XLSX workbook (or larger than allowed unpacked)"},
		{"zip bomb", XLSX, zipBomb(t), nil, "not a readable XLSX workbook (or larger than allowed unpacked)"},
		// The header is judged before the rows are counted or parsed.
		{"header refused", CSV, []byte("Name\n1\n2\n3\n\"\n"), func(h []string) string {
			if h[0] != "name" {
				return "header seen as " + h[0]
			}
			return "no"
		}, "no"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Read(tc.format, tc.body, 1, tc.check)
			var e *Error
			switch {
			case tc.want == "" && !errors.Is(err, ErrFormat):
				t.Errorf("err %v, want ErrFormat", err)
			case tc.want != "" && (!errors.As(err, &e) || e.Reason != tc.want):
				t.Errorf("err %v, want reason %q", err, tc.want)
			}
		})
	}
}

func TestWriteCSV(t *testing.T) {
	rows := [][]string{{"a", "b"}, {"=1+1", "+x"}, {"-y", "@z"}, {"\tt", "ok"}, {"", "1,2"}}
	orig := [][]string{}
	for _, r := range rows {
		orig = append(orig, slices.Clone(r))
	}
	for _, bom := range []bool{false, true} {
		got, err := WriteCSV(rows, bom)
		if err != nil {
			t.Fatal(err)
		}
		want := "a,b\r\n'=1+1,'+x\r\n'-y,'@z\r\n'\tt,ok\r\n,\"1,2\"\r\n"
		if bom {
			want = "\uFEFF" + want
		}
		if string(got) != want {
			t.Errorf("bom %v: got %q, want %q", bom, got, want)
		}
	}
	if !slices.EqualFunc(rows, orig, slices.Equal) {
		t.Errorf("WriteCSV changed its input: %q", rows)
	}
}

func TestWriteXLSXReadsBack(t *testing.T) {
	rows := [][]string{{"ref", "name", "result"}, {"=HYPERLINK(\"x\")", "张三", "match"}, {"007", "1E+15", ""}}
	b, err := WriteXLSX(rows)
	if err != nil {
		t.Fatal(err)
	}
	x, err := excelize.OpenReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	if got := x.GetSheetList(); !slices.Equal(got, []string{"results"}) {
		t.Errorf("sheets %v", got)
	}
	if f, _ := x.GetCellFormula("results", "A2"); f != "" {
		t.Errorf("a text cell became the formula %q", f)
	}
	got, err := Read(XLSX, b, 10, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.Header, rows[0]) || !slices.EqualFunc(got.Rows, rows[1:], slices.Equal) {
		t.Errorf("read back %q %q, want %q", got.Header, got.Rows, rows)
	}
}

// checkRead is what every parse of an upload must hold: it fails only
// with an *Error or ErrTooManyRows, and what it reads keeps its bounds.
func checkRead(t *testing.T, format string, body []byte) {
	const cap = 5
	tb, err := Read(format, body, cap, nil)
	if err != nil {
		var e *Error
		if !errors.As(err, &e) && !errors.Is(err, ErrTooManyRows) {
			t.Fatalf("error of type %T: %v", err, err)
		}
		return
	}
	if len(tb.Rows) > cap || len(tb.Header) > MaxColumns {
		t.Fatalf("%d rows, %d columns past a cap of %d rows, %d columns", len(tb.Rows), len(tb.Header), cap, MaxColumns)
	}
	for _, row := range tb.Rows {
		// A row may be blank within the header's columns: blank rows
		// are judged on all their cells, before they are cut.
		if len(row) != len(tb.Header) {
			t.Fatalf("row %q under header %q", row, tb.Header)
		}
	}
	for _, h := range tb.Header {
		if h != strings.ToLower(strings.TrimSpace(h)) {
			t.Fatalf("header %q not normalised", h)
		}
	}
}

func FuzzReadCSV(f *testing.F) {
	f.Add([]byte("certificate_number,name\n1000,张三\n"))
	f.Add([]byte("\uFEFFid_type,id_number,name\nresident_id,1,x\n"))
	f.Add([]byte("name\n\"a\"\"b\",\n\n,,\n"))
	gbk, _ := simplifiedchinese.GB18030.NewEncoder().Bytes([]byte("姓名,name\n张三,x\n"))
	f.Add(gbk)
	f.Fuzz(func(t *testing.T, body []byte) { checkRead(t, CSV, body) })
}

func FuzzReadXLSX(f *testing.F) {
	f.Add(xlsxBytes(f, [][]string{{"certificate_number", "name"}, {"1", "2"}}))
	f.Add(xlsxBytes(f, [][]string{{"Name"}, {""}, {"x", "y"}}))
	f.Add([]byte("PK\x03\x04"))
	f.Fuzz(func(t *testing.T, body []byte) { checkRead(t, XLSX, body) })
}
