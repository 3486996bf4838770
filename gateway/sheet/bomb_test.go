package sheet

import (
	"archive/zip"
	"bytes"
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"
)

// rezip is body with the named parts replaced (and others kept).
func rezip(t testing.TB, body []byte, parts map[string]string) []byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(body), int64(len(body)))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	seen := map[string]bool{}
	for _, f := range zr.File {
		w, _ := zw.Create(f.Name)
		if p, ok := parts[f.Name]; ok {
			io.WriteString(w, p)
			seen[f.Name] = true
			continue
		}
		r, _ := f.Open()
		io.Copy(w, r)
		r.Close()
	}
	for name, p := range parts {
		if !seen[name] {
			w, _ := zw.Create(name)
			io.WriteString(w, p)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

const sheetHead = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>`

// bombs are small workbooks that unpack under the size limit but would
// make the reader build huge tables.
func bombs(t testing.TB) map[string][]byte {
	base := xlsxBytes(t, [][]string{{"certificate_number", "name"}, {"1000142020000001", "张三"}})
	var shared strings.Builder
	shared.WriteString(`<?xml version="1.0" encoding="UTF-8" standalone="yes"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">`)
	for range 900_000 {
		shared.WriteString(`<si><t>a</t></si>`)
	}
	shared.WriteString(`</sst>`)
	var many strings.Builder // under the unpacked limit, but 120,000 texts
	many.WriteString(`<?xml version="1.0" encoding="UTF-8" standalone="yes"?><x:sst xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main">`)
	for range 120_000 {
		many.WriteString(`<x:si><x:t>a</x:t></x:si>`)
	}
	many.WriteString(`</x:sst>`)
	var far strings.Builder
	far.WriteString(sheetHead)
	far.WriteString(`<row r="1"><c r="A1" t="inlineStr"><is><t>name</t></is></c></row>`)
	for i := range 2000 {
		fmt.Fprintf(&far, `<row r="%d"><c r="XFD%d" t="inlineStr"><is><t>x</t></is></c></row>`, i+2, i+2)
	}
	far.WriteString(`</sheetData></worksheet>`)
	var deep strings.Builder
	deep.WriteString(sheetHead)
	deep.WriteString(`<row r="1"><c r="A1" t="inlineStr"><is><t>name</t></is></c></row><row r="1048576"><c r="A1048576" t="inlineStr"><is><t>x</t></is></c></row>`)
	deep.WriteString(`</sheetData></worksheet>`)
	var long strings.Builder
	long.WriteString(sheetHead)
	long.WriteString(`<row r="1"><c r="A1" t="inlineStr"><is><t>name</t></is></c></row>`)
	text := strings.Repeat("长", 80) // 240 bytes
	for i := range 1000 {
		fmt.Fprintf(&long, `<row r="%d">`, i+2)
		for j := range 12 {
			fmt.Fprintf(&long, `<c r="%s%d" t="inlineStr"><is><t>%s</t></is></c>`, colName(j+1), i+2, text)
		}
		long.WriteString(`</row>`)
	}
	long.WriteString(`</sheetData></worksheet>`)
	return map[string][]byte{
		"900,000 shared strings":              rezip(t, base, map[string]string{"xl/sharedStrings.xml": shared.String()}),
		"120,000 shared strings, prefixed":    rezip(t, base, map[string]string{"xl/sharedStrings.xml": many.String()}),
		"cells in the last column":            rezip(t, base, map[string]string{"xl/worksheets/sheet1.xml": far.String()}),
		"a cell in the last row of the sheet": rezip(t, base, map[string]string{"xl/worksheets/sheet1.xml": deep.String()}),
		"12 long texts in each of 1,000 rows": rezip(t, base, map[string]string{"xl/worksheets/sheet1.xml": long.String()}),
	}
}

// refusals are what the bombs that are refused are refused for.
var refusals = map[string]string{
	"900,000 shared strings":           "larger than allowed unpacked",
	"120,000 shared strings, prefixed": "more than 64064 texts, more than 1001 rows of 64 columns can use",
	"cells in the last column":         "more than 64 columns",
}

// TestReadBoundsMemory: however a workbook is built, reading it for a
// thousand rows allocates a bounded amount — a few times its unpacked
// size limit at most — and bombs are refused as such.
func TestReadBoundsMemory(t *testing.T) {
	for name, body := range bombs(t) {
		t.Run(name, func(t *testing.T) {
			if len(body) > 1<<20 {
				t.Fatalf("the bomb is %d bytes, over the body limit", len(body))
			}
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			_, err := Read(XLSX, body, 1000, nil)
			runtime.ReadMemStats(&after)
			allocated := after.TotalAlloc - before.TotalAlloc
			t.Logf("%d bytes packed: %v; %d MiB allocated", len(body), err, allocated>>20)
			if allocated > 40<<20 {
				t.Errorf("reading allocated %d MiB", allocated>>20)
			}
			if want := refusals[name]; want != "" && (err == nil || !strings.Contains(err.Error(), want)) {
				t.Errorf("err %v, want a refusal saying %q", err, want)
			}

		})
	}
}

func colName(n int) string {
	s := ""
	for n > 0 {
		n--
		s = string(rune('A'+n%26)) + s
		n /= 26
	}
	return s
}

func TestCountSharedStrings(t *testing.T) {
	for _, tc := range []struct {
		xml  string
		want int
	}{
		{`<sst><si><t>a</t></si><si><t>b</t></si></sst>`, 2},
		{`<x:sst><x:si><x:t>a</x:t></x:si><x:si/></x:sst>`, 2},
		{`<sst><si a="1"><t>si</t></si><sis/><s/></sst>`, 1},
		{`<sst>`, 0},
		{`<`, 0},
		{`<x:`, 0},
	} {
		if got := countSharedStrings([]byte(tc.xml), 100); got != tc.want {
			t.Errorf("%s: %d, want %d", tc.xml, got, tc.want)
		}
	}
	if got := countSharedStrings([]byte(strings.Repeat("<si/>", 50)), 10); got != 11 {
		t.Errorf("stops at most+1: %d", got)
	}
}
