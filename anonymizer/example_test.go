package anonymizer

import (
	"context"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
)

// The textbook shape: gender and ZIP code as quasi-identifiers.
func textbookQIs(t testing.TB) []QI {
	gender, err := NewHierarchy([][]string{{"M", "*"}, {"F", "*"}})
	if err != nil {
		t.Fatal(err)
	}
	zip, err := NewHierarchy([][]string{
		{"47677", "4767*", "476**", "*"},
		{"47678", "4767*", "476**", "*"},
		{"47602", "4760*", "476**", "*"},
		{"47605", "4760*", "476**", "*"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return []QI{{"gender", gender}, {"zip", zip}}
}

var textbookRows = [][]string{
	{"M", "47677"}, {"M", "47678"}, {"F", "47602"}, {"F", "47605"}, {"M", "47677"}, {"F", "47602"},
}

func TestTextbook(t *testing.T) {
	// Worked by hand: at (0,0) the classes are 2,1,2,1; at (0,1) they
	// are (M,4767*)×3 and (F,4760*)×3, a 4767* label covering 2 of 4
	// ZIP codes costs 1/3, so NCP = (0 + 1/3)/2 = 1/6. For k=4 only
	// (1,2) and above merge everything: NCP 1, lowest levels first.
	cases := []struct {
		name      string
		k         int
		supp      float64
		l         int
		sensitive []string
		persons   []string
		want      []int
		wantLoss  float64
		wantSupp  int64
		unsatisfy bool
	}{
		{name: "k2", k: 2, want: []int{0, 1}, wantLoss: 1.0 / 6},
		{name: "k3", k: 3, want: []int{0, 1}, wantLoss: 1.0 / 6},
		// Suppressing the two singletons at (0,0) costs 2 rows × 2 cells
		// of 12 = 1/3 > 1/6: generalising still wins.
		{name: "k2 with suppression", k: 2, supp: 0.34, want: []int{0, 1}, wantLoss: 1.0 / 6},
		{name: "k4", k: 4, want: []int{1, 2}, wantLoss: 1},
		{name: "k7", k: 7, unsatisfy: true},
		{name: "k7 all suppressed allowed", k: 7, supp: 1, want: []int{0, 0}, wantLoss: 1, wantSupp: 6},
		// The men all have flu: their class is 2-diverse only once it
		// includes women.
		{name: "l2", k: 2, l: 2, sensitive: []string{"flu", "flu", "hiv", "flu", "flu", "hiv"}, want: []int{1, 2}, wantLoss: 1},
		// Person 1 owns two rows of the (M,4767*) class: 2 people, not 3,
		// and the men never form a class of 3 people apart from the women.
		{name: "people", k: 3, persons: []string{"1", "2", "3", "4", "1", "5"}, want: []int{1, 2}, wantLoss: 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := Config{QIs: textbookQIs(t), K: tc.k, MaxSuppression: tc.supp, L: tc.l, People: tc.persons != nil}
			e, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			for i, r := range textbookRows {
				var s, p string
				if tc.sensitive != nil {
					s = tc.sensitive[i]
				}
				if tc.persons != nil {
					p = tc.persons[i]
				}
				if err := e.Add(r, s, p); err != nil {
					t.Fatal(err)
				}
			}
			res, err := e.Solve(context.Background())
			if tc.unsatisfy {
				if !errors.Is(err, ErrUnsatisfiable) {
					t.Fatalf("got %v, want ErrUnsatisfiable", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(res.Levels, tc.want) || math.Abs(res.Loss.NCP-tc.wantLoss) > 1e-12 || res.Suppressed != tc.wantSupp {
				t.Fatalf("levels %v loss %v suppressed %d, want %v %v %d", res.Levels, res.Loss.NCP, res.Suppressed, tc.want, tc.wantLoss, tc.wantSupp)
			}
		})
	}
}

func TestUnknownValueNamesColumnNotValue(t *testing.T) {
	e, err := New(Config{QIs: textbookQIs(t), K: 2})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Add([]string{"M", "47677"}, "", ""); err != nil {
		t.Fatal(err)
	}
	err = e.Add([]string{"M", "99999"}, "", "")
	var ve *ValueError
	if !errors.As(err, &ve) || ve.Column != "zip" || ve.Row != 1 || !errors.Is(err, ErrUnknownValue) {
		t.Fatalf("got %v", err)
	}
	if strings.Contains(err.Error(), "99999") {
		t.Fatalf("error quotes the value: %v", err)
	}
	// The bad row left nothing behind.
	if err := e.Add([]string{"M", "47677"}, "", ""); err != nil {
		t.Fatal(err)
	}
	res, err := e.Solve(context.Background())
	if err != nil || res.Rows != 2 || res.AchievedK != 2 {
		t.Fatalf("res %+v err %v", res, err)
	}
}

func TestConfigErrors(t *testing.T) {
	qis := textbookQIs(t)
	for _, cfg := range []Config{
		{K: 2},
		{QIs: qis, K: 0},
		{QIs: qis, K: 2, MaxSuppression: 1.5},
		{QIs: qis, K: 2, MaxSuppression: math.NaN()},
		{QIs: qis, K: 2, L: -1},
		{QIs: qis, K: 2, Method: "magic"},
		{QIs: qis, K: 2, Diversity: "recursive"},
		{QIs: append(qis, qis[0]), K: 2},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("New(%+v) accepted", cfg)
		}
	}
}

func TestFunctionHierarchy(t *testing.T) {
	// A built-in style hierarchy: dates to month, year, then *.
	h, err := NewFuncHierarchy(4, func(v string) ([]string, error) {
		if len(v) != 10 {
			return nil, errors.New("want YYYY-MM-DD")
		}
		return []string{v, v[:7], v[:4], Top}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	e, err := New(Config{QIs: []QI{{"conferral_date", h}}, K: 2})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"2020-06-30", "2020-06-15", "2020-07-01", "2021-01-01", "2021-06-30"} {
		if err := e.Add([]string{d}, "", ""); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.Add([]string{"June 2020"}, "", ""); err == nil || strings.Contains(err.Error(), "June") {
		t.Fatalf("bad date: %v", err)
	}
	res, err := e.Solve(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// Months leave 2020-07 alone; years give 2020×3 and 2021×2.
	if !slices.Equal(res.Levels, []int{2}) {
		t.Fatalf("levels %v", res.Levels)
	}
	if v, _ := res.Row(0); v[0] != "2020" {
		t.Fatalf("row 0 → %v", v)
	}
}

func TestSolveCancelled(t *testing.T) {
	e, err := New(Config{QIs: textbookQIs(t), K: 2})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range textbookRows {
		if err := e.Add(r, "", ""); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := e.Solve(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v", err)
	}
}

func TestEmptyTable(t *testing.T) {
	for _, m := range []Method{Global, Mondrian} {
		e, err := New(Config{QIs: textbookQIs(t), K: 3, Method: m})
		if err != nil {
			t.Fatal(err)
		}
		res, err := e.Solve(context.Background())
		if err != nil || res.Rows != 0 || res.Classes != 0 || res.RowCount() != 0 {
			t.Fatalf("%s: %+v %v", m, res, err)
		}
	}
}

// Entropy l-diversity is not monotone once suppression is allowed: a
// diverse class merged with a large uniform one is no longer diverse. The
// search must not tag nodes below a failing node as failing then.
func TestEntropyWithSuppressionNotMonotone(t *testing.T) {
	h, err := NewHierarchy([][]string{{"x", "*"}, {"y", "*"}})
	if err != nil {
		t.Fatal(err)
	}
	e, err := New(Config{QIs: []QI{{"a", h}}, K: 1, L: 2, Diversity: EntropyL, MaxSuppression: 20.0 / 22})
	if err != nil {
		t.Fatal(err)
	}
	e.Add([]string{"x"}, "s1", "")
	e.Add([]string{"x"}, "s2", "")
	for range 20 {
		e.Add([]string{"y"}, "s1", "")
	}
	res, err := e.Solve(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.Levels, []int{0}) || res.Suppressed != 20 || res.AchievedL < 2-1e-9 {
		t.Fatalf("levels %v suppressed %d l %v", res.Levels, res.Suppressed, res.AchievedL)
	}
}

func TestColumnWithoutHierarchy(t *testing.T) {
	qis := textbookQIs(t)
	qis[0].Hierarchy = nil // gender: kept or *
	e, err := New(Config{QIs: qis, K: 6, MaxSuppression: 0})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range textbookRows {
		e.Add(r, "", "")
	}
	res, err := e.Solve(context.Background())
	if err != nil || !slices.Equal(res.Levels, []int{1, 2}) {
		t.Fatalf("levels %v err %v", res.Levels, err)
	}
	if v, _ := res.Row(0); !slices.Equal(v, []string{"*", "476**"}) {
		t.Fatalf("row 0: %v", v)
	}
}
