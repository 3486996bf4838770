package csvio

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
)

func readAll(t testing.TB, in string, sep byte) ([][]string, error) {
	r, err := NewReader(strings.NewReader(in), sep)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]string
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		row := make([]string, len(rec))
		for i, f := range rec {
			row[i] = string(f)
		}
		out = append(out, row)
	}
}

func TestRead(t *testing.T) {
	cases := []struct {
		name, in string
		want     [][]string
		err      error
		line     int
	}{
		{"plain", "a;b\nc;d\n", [][]string{{"a", "b"}, {"c", "d"}}, nil, 0},
		{"crlf and no final newline", "a;b\r\nc;d", [][]string{{"a", "b"}, {"c", "d"}}, nil, 0},
		{"blank lines skipped", "\n\na\n\r\nb\n", [][]string{{"a"}, {"b"}}, nil, 0},
		{"empty fields", ";;\n", [][]string{{"", "", ""}}, nil, 0},
		{"quoted sep and quote", "\"a;b\";\"say \"\"hi\"\"\"\n", [][]string{{"a;b", `say "hi"`}}, nil, 0},
		{"quoted newline", "\"a\nb\";c\nd;e\n", [][]string{{"a\nb", "c"}, {"d", "e"}}, nil, 0},
		{"quoted empty", "\"\";x\n", [][]string{{"", "x"}}, nil, 0},
		{"bare quote", "a;b\"c\n", nil, ErrBareQuote, 1},
		{"text after quote", "\"a\"b;c\n", nil, ErrQuote, 1},
		{"unclosed quote", "ok\n\"a;b\nc\n", [][]string{{"ok"}}, ErrQuote, 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := readAll(t, tc.in, ';')
			if !errors.Is(err, tc.err) {
				t.Fatalf("err %v, want %v", err, tc.err)
			}
			var pe *ParseError
			if tc.err != nil && (!errors.As(err, &pe) || pe.Line != tc.line) {
				t.Fatalf("err %v, want line %d", err, tc.line)
			}
			if !slices.EqualFunc(got, tc.want, slices.Equal) {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestLongLine(t *testing.T) {
	long := strings.Repeat("x", 200000)
	got, err := readAll(t, "a;"+long+"\nb;c\n", ';')
	if err != nil || len(got) != 2 || got[0][1] != long {
		t.Fatalf("err %v rows %d", err, len(got))
	}
	if _, err := readAll(t, "\""+strings.Repeat("y\n", MaxRecordBytes), ';'); !errors.Is(err, ErrLineLong) {
		t.Fatalf("unclosed quote over the limit: %v", err)
	}
}

func TestAppendFieldRoundTrip(t *testing.T) {
	for _, s := range []string{"", "plain", "a;b", `q"q`, "line\nbreak", " lead", "cr\r"} {
		line := AppendField(nil, s, ';')
		got, err := readAll(t, string(line)+"\n", ';')
		if s == "" {
			// An empty line is skipped, as in encoding/csv.
			continue
		}
		if err != nil || len(got) != 1 || len(got[0]) != 1 || got[0][0] != s {
			t.Errorf("%q → %q → %q %v", s, line, got, err)
		}
	}
}

func TestDetectSep(t *testing.T) {
	for _, tc := range []struct {
		header string
		want   byte
	}{
		{"a;b;c", ';'},
		{"a,b", ','},
		{"a\tb", '\t'},
		{"a|b|c", '|'},
		{"a", ','},
		{"", ','},
		{"a,b;c", ','}, // a tie goes to the first candidate
		{`"x,y";z`, ';'},
		// Counting inside quotes would see three commas against two
		// semicolons and pick ','.
		{`"surname, given names, title";id;degree`, ';'},
		{`"a|b|c|d"` + "\tx\ty", '\t'},
		// A doubled quote inside a quoted field keeps it open.
		{`"say ""a,b,c"" twice";n;m`, ';'},
	} {
		if got := DetectSep([]byte(tc.header)); got != tc.want {
			t.Errorf("%q: %q, want %q", tc.header, got, tc.want)
		}
	}
}

func TestPeekSepReadsTheFirstLineOnly(t *testing.T) {
	br := bufio.NewReader(strings.NewReader("\"a,b,c\";d;e\nx,y,z,w,v,u\n"))
	if got := PeekSep(br); got != ';' {
		t.Errorf("PeekSep = %q, want ';'", got)
	}
	if n := br.Buffered(); n == 0 {
		t.Error("PeekSep did not leave the line buffered")
	}
	if line, _ := br.ReadString('\n'); line != "\"a,b,c\";d;e\n" {
		t.Errorf("PeekSep consumed input: next line %q", line)
	}
}

// FuzzDetectSep: the guess is always a candidate, and a header written
// with every field quoted — so that only the separators stand outside
// quotes — is always recognised, whatever the fields hold.
func FuzzDetectSep(f *testing.F) {
	f.Add([]byte("surname, given names"), []byte("id;no"), byte(1))
	f.Add([]byte("a|b|c"), []byte("\"quoted\""), byte(3))
	f.Add([]byte(""), []byte(""), byte(0))
	f.Fuzz(func(t *testing.T, a, b []byte, pick byte) {
		candidates := []byte{',', ';', '\t', '|'}
		if got := DetectSep(append(append([]byte(nil), a...), b...)); bytes.IndexByte(candidates, got) < 0 {
			t.Fatalf("DetectSep(%q) = %q, not a candidate", append(a, b...), got)
		}
		sep := candidates[int(pick)%len(candidates)]
		quote := func(dst, s []byte) []byte {
			dst = append(dst, '"')
			for _, c := range s {
				if c == '"' {
					dst = append(dst, '"')
				}
				dst = append(dst, c)
			}
			return append(dst, '"')
		}
		header := quote(append(quote(nil, a), sep), b)
		if got := DetectSep(header); got != sep {
			t.Fatalf("DetectSep(%q) = %q, want %q", header, got, sep)
		}
	})
}

// FuzzReader: on every input encoding/csv accepts, the reader returns
// the same records; it never panics.
func FuzzReader(f *testing.F) {
	for _, s := range []string{"a;b\nc;d\n", "\"a;b\";\"c\"\"d\"\r\n", "\"x\ny\";z", "a;\"b\nc\"\n\n;\n", "a\"b\n", "\"a\"b\n", "\r\n\r\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		cr := csv.NewReader(bytes.NewReader(in))
		cr.Comma = ';'
		cr.FieldsPerRecord = -1
		want, wantErr := cr.ReadAll()
		got, err := readAll(t, string(in), ';')
		if wantErr != nil {
			if err == nil {
				t.Fatalf("encoding/csv rejects %q (%v), reader accepts", in, wantErr)
			}
			return
		}
		if err != nil {
			t.Fatalf("encoding/csv accepts %q, reader: %v", in, err)
		}
		if len(want) == 0 {
			want = nil
		}
		if !slices.EqualFunc(got, want, slices.Equal) {
			t.Fatalf("%q: got %q, encoding/csv %q", in, got, want)
		}
	})
}
