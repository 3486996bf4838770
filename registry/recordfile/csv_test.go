package recordfile

import (
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/degreegate/degreegate/registry"
	"golang.org/x/text/encoding/simplifiedchinese"
)

// hdr is a short header used by the table below; other columns are optional.
const hdr = "kind,name,birth_date,enrolment_month,programme_years,thesis_classified,thesis_keywords,thesis_title\n"

func gbk(t testing.TB, s string) string {
	t.Helper()
	out, err := simplifiedchinese.GBK.NewEncoder().String(s)
	if err != nil {
		t.Fatal(err)
	}
	if out == s {
		t.Fatal("GBK encoding changed nothing")
	}
	return out
}

func TestReadCSV(t *testing.T) {
	long := strings.Repeat("x", 200)
	tests := []struct {
		name     string
		in       string
		opt      Options
		want     []string // summary of the rows
		err      error    // sentinel the ending error wraps; nil: ends at EOF
		errLine  int
		errHas   string   // the error message names this
		secrets  []string // must appear in no message
		check    func(t *testing.T, rows []Row)
		noHeader bool // the test writes its own header
	}{
		{name: "header only", in: "", want: []string{}},
		{name: "header only, BOM and CRLF", noHeader: true, in: "\ufeffkind,name\r\n", want: []string{}},
		{name: "empty file", noHeader: true, in: "", err: ErrEmpty, errLine: 1},
		{name: "only a BOM", noHeader: true, in: "\ufeff", err: ErrEmpty, errLine: 1},
		{name: "only blank lines", noHeader: true, in: "\n\r\n\n", err: ErrEmpty, errLine: 1},
		{name: "unknown column", noHeader: true, in: "kind,nmae\n", err: ErrHeader, errLine: 1, errHas: `column 2: "nmae"`},
		{name: "column in wrong case", noHeader: true, in: "kind,Name\n", err: ErrHeader, errLine: 1, errHas: `"name"`},
		{name: "duplicate column", noHeader: true, in: "\n\nkind,name,kind\n", err: ErrHeader, errLine: 3, errHas: `column 3: "kind" is also column 1`},
		{name: "empty column name", noHeader: true, in: "kind,,name\n", err: ErrHeader, errLine: 1, errHas: "column 2 has no name"},
		{
			name: "header missing: data row is not echoed", noHeader: true,
			in:  "postgraduate,zhangsan,110105199003140021,13800138000\n",
			err: ErrHeader, errLine: 1, secrets: []string{"zhangsan", "110105199003140021"},
		},
		{name: "header with bad quote", noHeader: true, in: "kind,na\"me\n", err: ErrHeader, errLine: 1},
		{name: "header too long", noHeader: true, in: "kind," + long + "\nbachelor,x\n", opt: Options{MaxLineBytes: 100}, err: ErrHeader, errLine: 1},
		{name: "UTF-16 file", noHeader: true, in: "\xff\xfek\x00i\x00n\x00d\x00\n\x00", err: ErrNotUTF8, errLine: 1, errHas: "UTF-16"},
		{name: "header not UTF-8", noHeader: true, in: "kind," + gbk(t, "姓名") + "\n", err: ErrHeader, errLine: 1, errHas: "GBK"},
		{
			name: "good rows, CRLF, BOM",
			in:   "bachelor,张三,1990-01-02,2008-09,4,false,a;b,t\r\npostgraduate,李四,,,,TRUE,,\r\n",
			want: []string{"2:", "3:"},
			check: func(t *testing.T, rows []Row) {
				r := rows[0].Record
				if r.Name != "张三" || r.ThesisTitle != "t" || r.ProgrammeYears != 4 || r.BirthDate != registry.NewDate(1990, 1, 2) ||
					r.EnrolmentMonth != registry.NewMonth(2008, 9) || !slices.Equal(r.ThesisKeywords, []string{"a", "b"}) {
					t.Errorf("row 2 = %+v", r)
				}
				r = rows[1].Record
				if !r.ThesisClassified || !r.BirthDate.IsZero() || r.ProgrammeYears != 0 || r.ThesisKeywords != nil || r.ThesisTitle != "" {
					t.Errorf("row 3 = %+v", r)
				}
			},
		},
		{
			name: "keywords trimmed, empty ones dropped",
			in:   "bachelor,x,,,,,\" machine learning ; ;graph theory;\",\n",
			want: []string{"2:"},
			check: func(t *testing.T, rows []Row) {
				if got := rows[0].Record.ThesisKeywords; !slices.Equal(got, []string{"machine learning", "graph theory"}) {
					t.Errorf("keywords = %q", got)
				}
			},
		},
		{
			name: "wrong column count",
			in:   "bachelor,x\nbachelor,x,,,,,,,extra\nbachelor,ok,,,,,,\n",
			want: []string{"2:field_count", "3:field_count", "4:"},
			check: func(t *testing.T, rows []Row) {
				if m := rows[0].Problems[0].Message; !strings.Contains(m, "want 8") || !strings.Contains(m, "found 2") {
					t.Errorf("message %q lacks the counts", m)
				}
			},
		},
		{
			name: "bare quote, then reading goes on",
			in:   "bachelor,zh\"ang,,,,,,\nbachelor,ok,,,,,,\n",
			want: []string{"2:bad_quote", "3:"},
			check: func(t *testing.T, rows []Row) {
				if f := rows[0].Problems[0].Field; f != "name" {
					t.Errorf("bad quote Field = %q, want name", f)
				}
			},
			secrets: []string{"zh\"ang"},
		},
		{name: "text after closing quote", in: "bachelor,\"zhang\"san,,,,,,\nbachelor,ok,,,,,,\n", want: []string{"2:bad_quote", "3:"}},
		{name: "unterminated quote on the last line", in: "bachelor,ok,,,,,,\nbachelor,\"zhang,,,,,,\n", want: []string{"2:", "3:bad_quote"}},
		{
			name: "unterminated quote swallows the rest",
			in:   "bachelor,ok,,,,,,\nbachelor,\"zhang,,,,,,\nbachelor,a,,,,,,\nbachelor,b,,,,,,\n",
			want: []string{"2:"}, err: ErrUnterminatedQuote, errLine: 3, secrets: []string{"zhang"},
		},
		{
			name: "multi-line quoted fields keep line numbers",
			in: "bachelor,a,,,,,,\"one\ntwo\r\nthree\"\n\n\nbachelor,b,,,,,,\"x\"\n" +
				"\"multi\nline name\",c,,,,,,\nbachelor,\"d\n\",,,,,,\"\n\n\"\nbachelor,e,,,,,,\n",
			want: []string{"2:", "7:", "8:", "10:", "14:"},
			check: func(t *testing.T, rows []Row) {
				if got := rows[0].Record.ThesisTitle; got != "one\ntwo\nthree" {
					t.Errorf("title = %q", got)
				}
			},
		},
		{
			name: "not UTF-8 (GBK)",
			in:   "bachelor,ok,,,,,,\nbachelor," + gbk(t, "张三") + ",,,,,,\nbachelor,\"two\n" + gbk(t, "李四") + "\",,,,,,\nbachelor,ok,,,,,,\n",
			want: []string{"2:", "3:not_utf8", "4:not_utf8", "6:"},
			check: func(t *testing.T, rows []Row) {
				for i, line := range map[int]string{1: "line 3", 2: "line 5"} {
					p := rows[i].Problems[0]
					if p.Field != "name" || !strings.Contains(p.Message, "not UTF-8 at "+line) || !strings.Contains(p.Message, "GBK") {
						t.Errorf("row %d problem = %+v, want name, not UTF-8 at %s", i, p, line)
					}
				}
			},
		},
		{
			name: "over-long line skipped",
			in:   "bachelor,ok,,,,,,\nbachelor," + long + ",,,,,,\nbachelor,ok,,,,,,\n",
			opt:  Options{MaxLineBytes: 100},
			want: []string{"2:", "3:line_too_long", "4:"},
		},
		{
			name: "over-long lines in a row and at the end",
			in:   "bachelor,ok,,,,,,\n" + long + "\n" + long + "\"\n\"" + long + "\nbachelor,ok,,,,,,\n" + long,
			opt:  Options{MaxLineBytes: 100},
			// Lines 4 and 5 hold one quote each: a quoted field runs from 4 to 5.
			want: []string{"2:", "3:line_too_long", "4:line_too_long", "6:", "7:line_too_long"},
			check: func(t *testing.T, rows []Row) {
				if m := rows[2].Problems[0].Message; !strings.Contains(m, "2 lines longer than 100") {
					t.Errorf("message %q does not count both lines", m)
				}
			},
		},
		{
			name: "over-long line opening a quoted field",
			in:   "bachelor,ok,,,,,,\nbachelor,x,,,,,,\"" + long + "\nend of title\"\nbachelor,ok,,,,,,\n",
			opt:  Options{MaxLineBytes: 100},
			want: []string{"2:", "3:line_too_long", "5:"},
		},
		{
			name: "over-long line inside a quoted field",
			in:   "bachelor,x,,,,,,\"start\n" + long + "\nend\"\nbachelor,ok,,,,,,\n",
			opt:  Options{MaxLineBytes: 100},
			want: []string{"2:line_too_long", "5:"},
		},
		{
			name: "over-long line closing a quoted field",
			in:   "bachelor,x,,,,,,\"start\n" + long + "\"\nbachelor,ok,,,,,,\n",
			opt:  Options{MaxLineBytes: 100},
			want: []string{"2:line_too_long", "4:"},
		},
		{
			name: "bad values",
			in: "bachelor,x,2023-02-30,2023-13,4.5,yes,,\n" +
				"bachelor,x,1990-1-2,2023,+4,1,,\n" +
				"bachelor,x, 1990-01-02,2023-01 ,4 ,,,\n",
			want:    []string{"2:bad_date,bad_month,bad_integer,bad_boolean", "3:bad_date,bad_month,bad_boolean", "4:bad_date,bad_month,bad_integer"},
			secrets: []string{"2023-02-30", "1990-1-2"},
			check: func(t *testing.T, rows []Row) {
				var got []string
				for _, p := range rows[0].Problems {
					got = append(got, p.Field)
				}
				if want := []string{"birth_date", "enrolment_month", "programme_years", "thesis_classified"}; !slices.Equal(got, want) {
					t.Errorf("problem fields %v, want %v", got, want)
				}
			},
		},
		{
			name: "columns in any order, some missing",
			in:   "", noHeader: true,
		},
	}
	// The last case is built here: a permuted partial header.
	tests[len(tests)-1].in = "thesis_title,id_number,kind\n\"t,1\",X1,bachelor\n"
	tests[len(tests)-1].want = []string{"2:"}
	tests[len(tests)-1].check = func(t *testing.T, rows []Row) {
		if r := rows[0].Record; r.ThesisTitle != "t,1" || r.IDNumber != "X1" || r.Kind != registry.KindBachelor {
			t.Errorf("record = %+v", r)
		}
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := tt.in
			if !tt.noHeader {
				in = hdr + in
			}
			rows, err := readAll(t, in, CSV, tt.opt)
			checkOutcome(t, rows, err, tt.want, tt.err, tt.errLine, tt.errHas, tt.secrets)
			if tt.check != nil && !t.Failed() {
				tt.check(t, rows)
			}
		})
	}
}

// checkOutcome compares rows and the ending error with what a test wants;
// errLine -1 accepts any line.
func checkOutcome(t *testing.T, rows []Row, err error, want []string, wantErr error, errLine int, errHas string, secrets []string) {
	t.Helper()
	if got := summary(rows); want != nil && !slices.Equal(got, want) {
		t.Errorf("rows = %q, want %q", got, want)
	}
	switch {
	case wantErr == nil && err != nil:
		t.Errorf("error %v, want none", err)
	case wantErr != nil && !errors.Is(err, wantErr):
		t.Errorf("error %v, want %v", err, wantErr)
	case wantErr != nil:
		var fe *FileError
		if !errors.As(err, &fe) || errLine >= 0 && fe.Line != errLine {
			t.Errorf("error %v, want a FileError at line %d", err, errLine)
		}
		if !strings.Contains(err.Error(), "line ") {
			t.Errorf("error %q does not name its line", err)
		}
	}
	if errHas != "" && (err == nil || !strings.Contains(err.Error(), errHas)) {
		t.Errorf("error %v does not contain %q", err, errHas)
	}
	for _, s := range secrets {
		if err != nil && strings.Contains(err.Error(), s) {
			t.Errorf("error %q quotes the value %q", err, s)
		}
		for _, r := range rows {
			for _, p := range r.Problems {
				if strings.Contains(p.Message, s) || strings.Contains(p.Field, s) {
					t.Errorf("problem %+v quotes the value %q", p, s)
				}
			}
		}
	}
}

// TestCSVUnclosedQuoteBounded: a quote that is never closed in a huge file
// ends reading after about MaxRecordBytes, not at the end of the file.
func TestCSVUnclosedQuoteBounded(t *testing.T) {
	const limit = 64 << 10
	src := &countingReader{r: io.MultiReader(
		strings.NewReader(hdr+"bachelor,ok,,,,,,\nbachelor,\"open\n"),
		repeatReader("bachelor,x,,,,,,\n", 1<<30),
	)}
	rd, err := NewReader(src, CSV, Options{MaxLineBytes: 1 << 10, MaxRecordBytes: limit})
	if err != nil {
		t.Fatal(err)
	}
	if row, err := rd.Next(); err != nil || row.Line != 2 {
		t.Fatalf("first row %+v, %v", row, err)
	}
	_, err = rd.Next()
	var fe *FileError
	if !errors.Is(err, ErrUnterminatedQuote) || !errors.As(err, &fe) || fe.Line != 3 {
		t.Fatalf("error %v, want ErrUnterminatedQuote at line 3", err)
	}
	if src.n > 2*limit {
		t.Errorf("read %d bytes of input before giving up, limit %d", src.n, limit)
	}
}

// TestCSVBlankFlood: a flood of blank lines is bounded like a record.
func TestCSVBlankFlood(t *testing.T) {
	in := hdr + "bachelor,ok,,,,,,\n" + strings.Repeat("\n", 20000) + "bachelor,ok,,,,,,\n"
	rows, err := readAll(t, in, CSV, Options{MaxLineBytes: 128, MaxRecordBytes: 1024})
	checkOutcome(t, rows, err, []string{"2:"}, ErrTooLarge, -1, "", nil)
	// A few blank lines are fine.
	rows, err = readAll(t, hdr+strings.Repeat("\n", 100)+"bachelor,ok,,,,,,\n", CSV, Options{MaxLineBytes: 128, MaxRecordBytes: 1024})
	checkOutcome(t, rows, err, []string{"102:"}, nil, 0, "", nil)
}

// TestCSVLongLineNotBuffered: an 8 MiB line is skipped without being held.
func TestCSVLongLineNotBuffered(t *testing.T) {
	for _, f := range []Format{CSV, JSONL} {
		t.Run(string(f), func(t *testing.T) {
			first, last := hdr+"bachelor,ok,,,,,,\n", "bachelor,ok,,,,,,\n"
			if f == JSONL {
				first, last = `{"kind":"bachelor"}`+"\n", `{"kind":"bachelor"}`+"\n"
			}
			allocs := testing.AllocsPerRun(1, func() {
				in := io.MultiReader(strings.NewReader(first), repeatReader(`"x",`, 8<<20), strings.NewReader("\n"+last))
				rd, err := NewReader(in, f, Options{})
				if err != nil {
					t.Fatal(err)
				}
				var lines []int
				for {
					row, err := rd.Next()
					if err != nil {
						break
					}
					lines = append(lines, row.Line)
				}
				if want := []int{len(strings.Split(first, "\n")) - 1, len(strings.Split(first, "\n")), len(strings.Split(first, "\n")) + 1}; !slices.Equal(lines, want) {
					t.Errorf("row lines %v, want %v", lines, want)
				}
			})
			// A held line would cost allocations growing with its length.
			if allocs > 200 {
				t.Errorf("%v allocations reading past an 8 MiB line", allocs)
			}
		})
	}
}

func TestCSVReadError(t *testing.T) {
	in := io.MultiReader(strings.NewReader(hdr+"bachelor,ok,,,,,,\nbachelor,ok,,,,,,\n"), iotest.ErrReader(errors.New("disk on fire")))
	rd, err := NewReader(in, CSV, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var lines []int
	for {
		row, err := rd.Next()
		if err != nil {
			var fe *FileError
			if !errors.As(err, &fe) || !strings.Contains(err.Error(), "disk on fire") || fe.Line != 4 {
				t.Errorf("error %v, want the I/O error at line 4", err)
			}
			break
		}
		lines = append(lines, row.Line)
	}
	if !slices.Equal(lines, []int{2, 3}) {
		t.Errorf("rows at %v before the error, want [2 3]", lines)
	}
}

func TestNewReaderOptions(t *testing.T) {
	if _, err := NewReader(strings.NewReader(hdr), CSV, Options{MaxLineBytes: -1}); err == nil {
		t.Error("negative MaxLineBytes accepted")
	}
	if _, err := NewReader(strings.NewReader(hdr), "xlsx", Options{}); err == nil {
		t.Error("format xlsx accepted")
	}
}

type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

// repeatReader yields s over and over, n bytes in all, without holding them.
func repeatReader(s string, n int) io.Reader {
	return io.LimitReader(&cycle{s: s}, int64(n))
}

type cycle struct {
	s string
	i int
}

func (c *cycle) Read(p []byte) (int, error) {
	for n := 0; ; {
		k := copy(p[n:], c.s[c.i:])
		c.i = (c.i + k) % len(c.s)
		if n += k; n == len(p) {
			return n, nil
		}
	}
}
