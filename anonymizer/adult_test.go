package anonymizer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/degreegate/degreegate/anonymizer/csvio"
	"github.com/degreegate/degreegate/anonymizer/internal/jitter"
)

// adultDir is the ARX benchmark beside the repository (../shared).
const adultDir = "../../shared/benchdata/adult"

// adultQIs are the nine attributes the published ARX figures use.
var adultQIs = []string{"sex", "age", "race", "marital-status", "education", "native-country", "workclass", "occupation", "salary-class"}

type adultTable struct {
	qis  []QI
	rows [][]string // quasi-identifier values, in adultQIs order
}

func loadAdult(tb testing.TB) *adultTable {
	return loadAdultFile(tb, filepath.Join(adultDir, "adult.csv"))
}

// loadAdultFile reads a table with the adult columns, e.g. one that
// internal/jitter/adultjitter wrote.
func loadAdultFile(tb testing.TB, path string) *adultTable {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Skipf("adult benchmark data not available: %v", err)
	}
	defer f.Close()
	t := &adultTable{}
	for _, q := range adultQIs {
		hf, err := os.Open(filepath.Join(adultDir, "adult_hierarchy_"+q+".csv"))
		if err != nil {
			tb.Fatal(err)
		}
		h, err := ParseHierarchy(hf, ';')
		hf.Close()
		if err != nil {
			tb.Fatalf("%s: %v", q, err)
		}
		t.qis = append(t.qis, QI{Name: q, Hierarchy: h})
	}
	cr, err := csvio.NewReader(f, ';')
	if err != nil {
		tb.Fatal(err)
	}
	head, err := cr.Read()
	if err != nil {
		tb.Fatal(err)
	}
	pos := map[string]int{}
	for i, h := range head {
		pos[string(h)] = i
	}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			tb.Fatal(err)
		}
		row := make([]string, len(adultQIs))
		for j, q := range adultQIs {
			row[j] = string(rec[pos[q]])
		}
		t.rows = append(t.rows, row)
	}
	return t
}

func (t *adultTable) solve(tb testing.TB, cfg Config) *Result {
	tb.Helper()
	cfg.QIs = t.qis
	e, err := New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	for _, r := range t.rows {
		if err := e.Add(r, "", ""); err != nil {
			tb.Fatal(err)
		}
	}
	res, err := e.Solve(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	return res
}

func TestAdultGlobal(t *testing.T) {
	a := loadAdult(t)
	res := a.solve(t, Config{K: 5, MaxSuppression: 0.05})
	t.Logf("levels %v suppressed %d classes %d k %d NCP %.4f search %+v seconds %.3f", res.Levels, res.Suppressed, res.Classes, res.AchievedK, res.Loss.NCP, res.Search, res.Seconds)
	if res.AchievedK < 5 || float64(res.Suppressed) > 0.05*float64(res.Rows) {
		t.Fatalf("achieved k %d, suppressed %d", res.AchievedK, res.Suppressed)
	}
	// The engine's grouping, checked the obvious way on the output rows.
	classes := map[string]int{}
	for i := range res.RowCount() {
		if v, sup := res.Row(i); !sup {
			classes[fmt.Sprint(v)]++
		}
	}
	for c, n := range classes {
		if n < 5 {
			t.Fatalf("class %s has %d rows", c, n)
		}
	}
	if len(classes) != res.Classes {
		t.Fatalf("%d classes in the rows, result says %d", len(classes), res.Classes)
	}
}

func BenchmarkAnonymizeAdult(b *testing.B) {
	a := loadAdult(b)
	for b.Loop() {
		a.solve(b, Config{K: 5, MaxSuppression: 0.05})
	}
}

// BenchmarkAnonymizeAdultJittered reads (from memory), encodes and
// anonymises the adult data replicated with jittered ages, at the sizes
// of the published scaling figures; k = 5, at most 5 % suppressed.
func BenchmarkAnonymizeAdultJittered(b *testing.B) {
	a := loadAdult(b) // for the hierarchies, and to skip without data
	src, err := os.ReadFile(filepath.Join(adultDir, "adult.csv"))
	if err != nil {
		b.Fatal(err)
	}
	for _, rows := range []int{100_000, 300_000, 995_346} {
		var buf bytes.Buffer
		if err := jitter.Replicate(bytes.NewReader(src), &buf, jitter.Options{Times: 33, Rows: rows, Column: "age", Delta: 1, Seed: 1, Sep: ';'}); err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("rows=%d", rows), func(b *testing.B) {
			b.SetBytes(int64(buf.Len()))
			for b.Loop() {
				solveCSV(b, a.qis, buf.Bytes(), Config{K: 5, MaxSuppression: 0.05})
			}
		})
	}
}

// solveCSV is the engine end to end on an in-memory ;-separated table
// whose header names the quasi-identifiers.
func solveCSV(tb testing.TB, qis []QI, table []byte, cfg Config) *Result {
	cfg.QIs = qis
	e, err := New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	cr, _ := csvio.NewReader(bytes.NewReader(table), ';')
	head, err := cr.Read()
	if err != nil {
		tb.Fatal(err)
	}
	cols := make([]int, len(qis))
	for j, q := range qis {
		cols[j] = slices.IndexFunc(head, func(h []byte) bool { return string(h) == q.Name })
	}
	vals := make([][]byte, len(qis))
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			tb.Fatal(err)
		}
		for j, c := range cols {
			vals[j] = rec[c]
		}
		if err := e.AddBytes(vals, nil, nil); err != nil {
			tb.Fatal(err)
		}
	}
	res, err := e.Solve(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	return res
}
