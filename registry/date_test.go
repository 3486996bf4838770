package registry

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"
)

func TestParseDate(t *testing.T) {
	cases := []struct {
		in string
		ok bool
	}{
		{"2024-02-29", true}, {"2023-02-29", false}, {"2023-13-01", false}, {"2023-00-10", false},
		{"2023-04-31", false}, {"2023-4-01", false}, {"20230401", false}, {"", false},
		{"0000-01-01", false}, {"2023-01-0a", false}, {"１２３４-01-01", false},
	}
	for _, c := range cases {
		d, err := ParseDate(c.in)
		if (err == nil) != c.ok {
			t.Errorf("ParseDate(%q) error = %v, want ok=%v", c.in, err, c.ok)
		}
		if c.ok && d.String() != c.in {
			t.Errorf("ParseDate(%q).String() = %q", c.in, d.String())
		}
	}
}

func TestDateCompareAndJSON(t *testing.T) {
	a, b := NewDate(2020, 6, 30), NewDate(2020, 7, 1)
	if !a.Before(b) || !b.After(a) || a.Compare(a) != 0 {
		t.Error("date order wrong")
	}
	if NewMonth(2020, 6).Compare(a.YearMonth()) != 0 || NewMonth(2019, 12).Compare(NewMonth(2020, 1)) != -1 {
		t.Error("month order wrong")
	}
	type doc struct {
		D Date  `json:"d,omitzero"`
		M Month `json:"m,omitzero"`
	}
	out, _ := json.Marshal(doc{D: a, M: NewMonth(2020, time.September)})
	if string(out) != `{"d":"2020-06-30","m":"2020-09"}` {
		t.Errorf("json %s", out)
	}
	empty, _ := json.Marshal(doc{})
	if string(empty) != `{}` {
		t.Errorf("zero values marshal as %s", empty)
	}
	var back doc
	if err := json.Unmarshal(out, &back); err != nil || back.D != a {
		t.Errorf("unmarshal: %v %v", err, back)
	}
	if err := json.Unmarshal([]byte(`{"m":"2020-13"}`), &back); err == nil {
		t.Error("month 13 accepted")
	}
}

func FuzzParseDate(f *testing.F) {
	for _, s := range []string{"2024-02-29", "2023-02-30", "9999-12-31", "-001-01-01"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDate(s)
		if err == nil && d.String() != s {
			t.Fatalf("ParseDate(%q) accepted but prints %q", s, d.String())
		}
		m, err := ParseMonth(s)
		if err == nil && m.String() != s {
			t.Fatalf("ParseMonth(%q) accepted but prints %q", s, m.String())
		}
	})
}

// TestDateStringIsPadded: the hand-formatted String agrees with the
// zero-padded format, across and beyond the years it formats itself.
func TestDateStringIsPadded(t *testing.T) {
	for _, y := range []int{-5, 0, 7, 99, 999, 1000, 1949, 2026, 9999, 10000, 123456} {
		for _, m := range []time.Month{1, 9, 10, 12} {
			for _, d := range []int{1, 9, 10, 28, 31} {
				got, want := NewDate(y, m, d).String(), fmt.Sprintf("%04d-%02d-%02d", y, int(m), d)
				if got != want {
					t.Errorf("NewDate(%d, %d, %d) = %q, want %q", y, m, d, got, want)
				}
			}
		}
	}
}
