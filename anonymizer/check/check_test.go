package check

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeTable(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "table.csv")
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestFile(t *testing.T) {
	for _, tc := range []struct {
		name  string
		table string
		o     Options
		want  Report
	}{{
		name:  "comma table",
		table: "zip,age,disease\n476**,2*,flu\n476**,2*,cold\n4790*,3*,flu\n4790*,3*,flu\n*,*,flu\n",
		o:     Options{QI: []string{"zip", " age"}, K: 2, Sensitive: "disease", L: 2, Diversity: "distinct", MaxSuppression: -1},
		want:  Report{Rows: 5, Suppressed: 1, Classes: 2, MinK: 2, MinL: 1, OK: false},
	}, {
		// The header's quoted field holds more commas than the line holds
		// semicolons: a detector that counted inside quotes would split
		// on ',' and find no column "zip".
		name:  "separators inside a quoted header field do not count",
		table: "\"name, given, family\";zip;age\nx;476**;2*\ny;476**;2*\n",
		o:     Options{QI: []string{"zip", "age"}, K: 2, MaxSuppression: -1},
		want:  Report{Rows: 2, Classes: 1, MinK: 2, MinL: -1, OK: true},
	}, {
		name:  "people, not rows",
		table: "person,zip\np1,476**\np1,476**\np2,4790*\np3,4790*\n",
		o:     Options{QI: []string{"zip"}, K: 2, Person: "person", MaxSuppression: -1},
		want:  Report{Rows: 4, Classes: 2, MinK: 1, MinL: -1, OK: false},
	}, {
		name:  "suppression over the bound",
		table: "zip\n476**\n476**\n*\n",
		o:     Options{QI: []string{"zip"}, K: 2, MaxSuppression: 0.2},
		want:  Report{Rows: 3, Suppressed: 1, Classes: 1, MinK: 2, MinL: -1, OK: false},
	}, {
		name:  "guarded cells read as written",
		table: "zip,v\n'-5x,a\n-5x,a\n",
		o:     Options{QI: []string{"zip"}, K: 2, MaxSuppression: -1},
		want:  Report{Rows: 2, Classes: 1, MinK: 2, MinL: -1, OK: true},
	}, {
		name:  "nothing released",
		table: "zip\n*\n",
		o:     Options{QI: []string{"zip"}, K: 5, MaxSuppression: -1},
		want:  Report{Rows: 1, Suppressed: 1, MinK: 5, MinL: 0, OK: true},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := File(t.Context(), writeTable(t, tc.table), tc.o)
			if err != nil {
				t.Fatal(err)
			}
			type figures struct {
				rows, suppressed, classes, minK int
				minL                            float64
				ok                              bool
			}
			of := func(r Report) figures { return figures{r.Rows, r.Suppressed, r.Classes, r.MinK, r.MinL, r.OK} }
			if of(*got) != of(tc.want) {
				t.Errorf("got %+v, want %+v", of(*got), of(tc.want))
			}
		})
	}
}

func TestFileEntropy(t *testing.T) {
	path := writeTable(t, "zip;d\n1*;a\n1*;a\n1*;b\n1*;b\n")
	rep, err := File(t.Context(), path, Options{QI: []string{"zip"}, K: 1, Sensitive: "d", L: 2, Diversity: "entropy", MaxSuppression: -1})
	if err != nil {
		t.Fatal(err)
	}
	if rep.MinL < 2-1e-9 || rep.MinL > 2+1e-9 || !rep.OK {
		t.Errorf("entropy l = %v, ok %v; want 2, true", rep.MinL, rep.OK)
	}
	if want := "entropy l: achieved 2, required 2: ok\n"; !strings.Contains(rep.String(), want) {
		t.Errorf("report lacks %q:\n%s", want, rep.String())
	}
}

func TestFileErrorsNameNoData(t *testing.T) {
	path := writeTable(t, "zip,age\nsecret-value,1\n")
	_, err := File(t.Context(), path, Options{QI: []string{"shoe_size"}, K: 2, MaxSuppression: -1})
	if err == nil || err.Error() != `column "shoe_size" is not in the header` {
		t.Errorf("err = %v", err)
	}
}
