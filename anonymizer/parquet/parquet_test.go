package parquet

import (
	"bytes"
	"fmt"
	"slices"
	"testing"
)

func roundTrip(t testing.TB, header []string, rows [][]string) ([]string, [][]string) {
	t.Helper()
	var buf bytes.Buffer
	w, err := NewWriter(&buf, header, map[string]string{"k": "v"})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	var gotH []string
	var got [][]string
	err = Read(bytes.NewReader(buf.Bytes()), int64(buf.Len()), func(h, r []string) error {
		gotH = slices.Clone(h)
		got = append(got, slices.Clone(r))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return gotH, got
}

func TestRoundTrip(t *testing.T) {
	header := []string{"person", "gender", "unit_code", "status"}
	for _, n := range []int{0, 1, batch - 1, batch, 3*batch + 7} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			var rows [][]string
			for i := range n {
				rows = append(rows, []string{fmt.Sprintf("p%06d", i), []string{"1", "2"}[i%2], "", "北京 " + fmt.Sprint(i%17)})
			}
			gotH, got := roundTrip(t, header, rows)
			if len(got) != n {
				t.Fatalf("%d rows back, want %d", len(got), n)
			}
			if n == 0 {
				return
			}
			for i, r := range rows {
				for j, name := range header {
					if v := got[i][slices.Index(gotH, name)]; v != r[j] {
						t.Fatalf("row %d %s: %q, want %q", i, name, v, r[j])
					}
				}
			}
		})
	}
}

func TestWriterRefuses(t *testing.T) {
	var buf bytes.Buffer
	for _, h := range [][]string{nil, {"a", "a"}, {"a", ""}} {
		if _, err := NewWriter(&buf, h, nil); err == nil {
			t.Errorf("header %q accepted", h)
		}
	}
	w, _ := NewWriter(&buf, []string{"a", "b"}, nil)
	if err := w.Write([]string{"only one"}); err == nil {
		t.Error("a short row accepted")
	}
}

// FuzzRead: a file from outside (a leak to trace) never panics the reader.
func FuzzRead(f *testing.F) {
	var buf bytes.Buffer
	w, _ := NewWriter(&buf, []string{"person", "x"}, nil)
	w.Write([]string{"abc", "1"})
	w.Close()
	f.Add(buf.Bytes())
	f.Add([]byte("PAR1PAR1"))
	f.Fuzz(func(t *testing.T, b []byte) {
		_ = Read(bytes.NewReader(b), int64(len(b)), func(h, r []string) error { return nil })
	})
}
