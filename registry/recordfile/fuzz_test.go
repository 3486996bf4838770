package recordfile

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/degreegate/degreegate/registry"
)

// knownCode reports whether code is one a Reader may report.
func knownCode(code string) bool {
	switch code {
	case ProblemNotUTF8, ProblemLineTooLong, ProblemFieldCount, ProblemBadQuote,
		ProblemBadDate, ProblemBadMonth, ProblemBadInteger, ProblemBadBoolean,
		ProblemBadJSON, ProblemUnknownField, ProblemDuplicateField, ProblemWrongType:
		return true
	}
	return false
}

// fuzzRead reads data to the end and checks what must hold for any input:
// no panic, lines that start at 1 and increase, bounded rows, known codes,
// a *FileError naming its line as the only other ending, and problem-free
// records that the Writer round-trips.
func fuzzRead(t *testing.T, data []byte, f Format) {
	// Small limits, so that the fuzzer reaches them.
	opt := Options{MaxLineBytes: 64, MaxRecordBytes: 256}
	rd, err := NewReader(bytes.NewReader(data), f, opt)
	if err != nil {
		var fe *FileError
		if errors.As(err, &fe) && fe.Line < 1 {
			t.Fatalf("NewReader error at line %d: %v", fe.Line, err)
		}
		return
	}
	lines := bytes.Count(data, []byte{'\n'}) + 1
	names := fieldIndex()
	prev := 0
	for n := 0; ; n++ {
		if n > lines {
			t.Fatalf("more rows (%d) than lines (%d)", n, lines)
		}
		row, err := rd.Next()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			var fe *FileError
			if !errors.As(err, &fe) || fe.Line < 1 {
				t.Fatalf("Next ended with %v, want io.EOF or a *FileError naming a line", err)
			}
			return
		}
		if row.Line <= prev || row.Line > lines {
			t.Fatalf("row at line %d after line %d (file of %d lines)", row.Line, prev, lines)
		}
		prev = row.Line
		for _, p := range row.Problems {
			if !knownCode(p.Code) {
				t.Fatalf("unknown problem code %q", p.Code)
			}
			if _, ok := names[p.Field]; p.Field != "" && !ok && !(p.Code == ProblemUnknownField && nameLikeOrFolded(p.Field, names)) {
				t.Fatalf("problem names field %q", p.Field)
			}
		}
		if len(row.Problems) == 0 {
			checkRewrite(t, row.Record)
			if f == JSONL {
				checkAgainstEncodingJSON(t, data, row)
			}
		}
	}
}

func nameLikeOrFolded(s string, names map[string]int) bool {
	_, ok := names[strings.ToLower(strings.TrimSpace(s))]
	return ok || nameLike(s)
}

// checkAgainstEncodingJSON decodes a problem-free JSONL line again with
// encoding/json and wants the same record: the hand-written walk over the
// object must agree with the standard decoder.
func checkAgainstEncodingJSON(t *testing.T, data []byte, row Row) {
	line := bytes.Split(data, []byte{'\n'})[row.Line-1]
	line = bytes.TrimSuffix(line, []byte{'\r'})
	if row.Line == 1 {
		line = bytes.TrimPrefix(line, []byte(bom))
	}
	var want registry.Record
	if err := json.Unmarshal(line, &want); err != nil {
		t.Fatalf("line %d read without problems, but encoding/json says %v", row.Line, err)
	}
	if len(want.ThesisKeywords) == 0 {
		want.ThesisKeywords = nil
	}
	if !reflect.DeepEqual(row.Record, want) {
		t.Fatalf("line %d: read %+v\nencoding/json %+v", row.Line, row.Record, want)
	}
}

// checkRewrite writes rec in both formats and reads it back unchanged.
func checkRewrite(t *testing.T, rec registry.Record) {
	for _, f := range []Format{CSV, JSONL} {
		var b bytes.Buffer
		w, err := NewWriter(&b, f)
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Write(&rec); errors.Is(err, ErrNotWritable) {
			continue
		} else if err != nil {
			t.Fatal(err)
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		rd, err := NewReader(&b, f, Options{})
		if err != nil {
			t.Fatalf("%s: reading back: %v", f, err)
		}
		row, err := rd.Next()
		if err != nil || len(row.Problems) > 0 || !reflect.DeepEqual(row.Record, rec) {
			t.Fatalf("%s: read back %+v, %v\nwrote %+v", f, row, err, rec)
		}
	}
}

func FuzzReadCSV(f *testing.F) {
	for _, s := range []string{
		hdr + "bachelor,张三,1990-01-02,2008-09,4,true,a;b,\"t,\"\"x\"\"\ny\"\r\n",
		"\ufeffkind,name\r\n\"a\nb\",c\n\n",
		"kind,name\nx,\"unclosed\ny,z\n",
		"kind,name\nx,y\"z\n\"a\"b,c\n",
		"kind,name,kind\n",
		"thesis_keywords,programme_years,revoked_on\n; ;x,-0,2024-02-29\n",
		"kind\n" + strings.Repeat("x", 100) + "\n\"" + strings.Repeat("y", 100) + "\nz\"\n",
		"name\n\xd5\xc5\xc8\xfd\n",
		strings.Repeat("\n", 300) + "kind\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) { fuzzRead(t, data, CSV) })
}

func FuzzReadJSONL(f *testing.F) {
	for _, s := range []string{
		`{"kind":"bachelor","name":"张三","birth_date":"1990-01-02","programme_years":4,"thesis_keywords":["a"],"thesis_classified":true}`,
		"\ufeff{\"name\":null}\r\n\r\n{\"Name\":1,\"name\":\"a\",\"name\":\"b\"}\n",
		`{"name":"\ud800\u0000"}` + "\n" + `[1]` + "\n" + `{"x":` + "\n{} {}",
		`{"programme_years":1e3,"revoked_on":"2023-02-30","thesis_keywords":[null,"",1]}`,
		"{\"name\":\"\xd5\xc5\"}\n" + strings.Repeat("x", 100),
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) { fuzzRead(t, data, JSONL) })
}

// FuzzRoundTrip puts arbitrary text into the fields that need quoting and
// checks that whatever the Writer accepts reads back the same.
func FuzzRoundTrip(f *testing.F) {
	f.Add("张伟", "a,\"b\"\nc", "machine learning;x", 2020, 4)
	f.Add("", "\r\n", " a ", 0, 0)
	f.Add("\"", "\n\n\"", ";", 10000, -1)
	f.Fuzz(func(t *testing.T, name, title, keywords string, year, years int) {
		rec := sampleRecords()[0]
		rec.Name, rec.ThesisTitle, rec.RevocationReason = name, title, name+title
		rec.ThesisKeywords = strings.Split(keywords, ";")
		rec.ConferralDate = registry.NewDate(year, 2, 28)
		rec.ProgrammeYears = years
		checkRewrite(t, rec)
	})
}
