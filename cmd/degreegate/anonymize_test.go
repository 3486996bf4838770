package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/degreegate/degreegate/anonymizer"
)

const adultDir = "../../../shared/benchdata/adult"

var adultQIs = []string{"sex", "age", "race", "marital-status", "education", "native-country", "workclass", "occupation", "salary-class"}

// runCLI runs a verb in-process and returns its exit code and output.
func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	err := run(context.Background(), args, func(string) string { return "" }, strings.NewReader(""), &out, &errb)
	if err != nil {
		code = exitCode(err)
		if !errors.Is(err, errReported) {
			errb.WriteString(err.Error())
		}
	}
	return code, out.String(), errb.String()
}

func adultArgs(t *testing.T, out string, extra ...string) []string {
	if _, err := os.Stat(filepath.Join(adultDir, "adult.csv")); err != nil {
		t.Skipf("adult benchmark data not available: %v", err)
	}
	args := []string{"anonymize", "--in", filepath.Join(adultDir, "adult.csv"), "--qi", strings.Join(adultQIs, ","), "--out", out}
	for _, q := range adultQIs {
		args = append(args, "--hierarchy", q+"="+filepath.Join(adultDir, "adult_hierarchy_"+q+".csv"))
	}
	return append(args, extra...)
}

// readTable reads a ;-separated file with encoding/csv.
func readTable(t *testing.T, path string) [][]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	r := csv.NewReader(bytes.NewReader(b))
	r.Comma = ';'
	rows, err := r.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func TestAnonymizeAdultEndToEnd(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "adult-k5.csv")
	code, stdout, stderr := runCLI(t, adultArgs(t, out, "--k", "5", "--max-suppression", "0.05")...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "k=5 achieved") {
		t.Errorf("stdout: %s", stdout)
	}

	// Re-read the output on its own: k ≥ 5 over released rows, at most
	// 5 % suppressed, the input's header and row count.
	in, got := readTable(t, filepath.Join(adultDir, "adult.csv")), readTable(t, out)
	if strings.Join(got[0], ";") != strings.Join(in[0], ";") || len(got) != len(in) {
		t.Fatalf("header %v, %d rows; want %v, %d", got[0], len(got), in[0], len(in))
	}
	classes := map[string]int{}
	suppressed := 0
	for _, row := range got[1:] {
		if strings.Trim(strings.Join(row, ""), "*") == "" {
			suppressed++
			continue
		}
		classes[strings.Join(row, "\x00")]++
	}
	for c, n := range classes {
		if n < 5 {
			t.Fatalf("class %q has %d rows", c, n)
		}
	}
	if rows := len(got) - 1; float64(suppressed) > 0.05*float64(rows) {
		t.Fatalf("%d of %d rows suppressed", suppressed, rows)
	}

	// The manifest agrees with the file.
	var m anonymizer.Manifest
	b, err := os.ReadFile(anonymizer.ManifestPath(out))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(out)
	sum := sha256.Sum256(data)
	r := m.Result
	switch {
	case m.Output.SHA256 != hex.EncodeToString(sum[:]):
		t.Errorf("manifest sha256 %s does not match the file", m.Output.SHA256)
	case r.Suppressed != int64(suppressed) || r.Classes != len(classes) || r.AchievedK < 5:
		t.Errorf("manifest: suppressed %d classes %d k %d; file: %d %d", r.Suppressed, r.Classes, r.AchievedK, suppressed, len(classes))
	case m.Input.Rows != int64(len(in)-1) || m.Engine != anonymizer.Version || len(r.Levels) != len(adultQIs):
		t.Errorf("manifest: %+v", m)
	case r.Loss.NCP <= 0 || r.Loss.NCP > 1 || r.Risk.ProsecutorMax > 0.2:
		t.Errorf("manifest loss %v risk %v", r.Loss.NCP, r.Risk.ProsecutorMax)
	}

	// dataset check agrees, and catches a file edited to break k.
	check := []string{"dataset", "check", out, "--qi", strings.Join(adultQIs, ","), "--k", "5", "--max-suppression", "0.05"}
	if code, stdout, stderr := runCLI(t, check...); code != 0 || !strings.Contains(stdout, "PASSED") {
		t.Fatalf("check of a good file: exit %d\n%s%s", code, stdout, stderr)
	}
	for i, row := range got[1:] {
		if row[1] != "*" {
			got[i+1][1] = "unique-age"
			break
		}
	}
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	w.Comma = ';'
	w.WriteAll(got)
	if err := os.WriteFile(out, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	code, stdout, _ = runCLI(t, check...)
	if code != 1 || !strings.Contains(stdout, "k: achieved 1, required 5: FAILED") {
		t.Fatalf("check of a broken file: exit %d\n%s", code, stdout)
	}
}

func TestAnonymizeMondrianAndDiversity(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "m.csv")
	// salary-class as the sensitive column, the rest quasi-identifiers.
	args := adultArgs(t, out, "--k", "10", "--method", "mondrian", "--sensitive", "salary-class", "--l", "2")
	for i, a := range args {
		if a == "--qi" {
			args[i+1] = strings.Join(adultQIs[:8], ",")
		}
		if strings.HasPrefix(a, "salary-class=") {
			args = append(args[:i-1], args[i+1:]...)
			break
		}
	}
	if code, _, stderr := runCLI(t, args...); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	check := []string{"dataset", "check", out, "--qi", strings.Join(adultQIs[:8], ","), "--k", "10", "--sensitive", "salary-class", "--l", "2"}
	if code, stdout, stderr := runCLI(t, check...); code != 0 {
		t.Fatalf("check: exit %d\n%s%s", code, stdout, stderr)
	}
}

func TestAnonymizeErrors(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.csv")
	os.WriteFile(in, []byte("name,zip,age\nAda,47677,30\nBob,47678,31\nCy,99999,32\n"), 0o600)
	hier := filepath.Join(dir, "zip.csv")
	os.WriteFile(hier, []byte("47677;4767*;*\n47678;4767*;*\n"), 0o600)
	out := filepath.Join(dir, "out.csv")
	cases := []struct {
		name string
		args []string
		code int
		has  string
	}{
		{"no qi", []string{"--in", in, "--out", out, "--k", "2"}, 2, "--qi is required"},
		{"no k", []string{"--in", in, "--out", out, "--qi", "zip"}, 2, "--k must be"},
		{"l without sensitive", []string{"--in", in, "--out", out, "--qi", "zip", "--k", "2", "--l", "2"}, 2, "go together"},
		{"unknown column", []string{"--in", in, "--out", out, "--qi", "postcode", "--k", "2"}, 1, `"postcode" is not in the header`},
		{"hierarchy for a non-qi", []string{"--in", in, "--out", out, "--qi", "age", "--k", "2", "--hierarchy", "zip=" + hier}, 1, "not a quasi-identifier"},
		{"unknown leaf", []string{"--in", in, "--out", out, "--qi", "zip", "--k", "2", "--hierarchy", "zip=" + hier}, 1, `line 4, column "zip": value not in the hierarchy`},
		{"unsatisfiable", []string{"--in", in, "--out", out, "--qi", "age", "--k", "4", "--max-suppression", "0"}, 1, "cannot be met: the table holds 3 people"},
		{"bad method", []string{"--in", in, "--out", out, "--qi", "age", "--k", "2", "--method", "magic"}, 1, "method"},
		{"same file", []string{"--in", in, "--out", in, "--qi", "age", "--k", "2"}, 2, "differ"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := runCLI(t, append([]string{"anonymize"}, tc.args...)...)
			if code != tc.code || !strings.Contains(stderr, tc.has) {
				t.Fatalf("exit %d, stderr %q; want %d and %q", code, stderr, tc.code, tc.has)
			}
			if strings.Contains(stderr, "99999") || strings.Contains(stderr, "Ada") {
				t.Fatalf("error quotes data: %s", stderr)
			}
			if _, err := os.Stat(out); err == nil {
				t.Fatal("a failed run left an output file")
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 2 {
				t.Fatalf("a failed run left files: %v", entries)
			}
		})
	}
}

func TestDatasetCheckUsage(t *testing.T) {
	for _, args := range [][]string{
		{"dataset"},
		{"dataset", "frobnicate"},
		{"dataset", "check", "--qi", "a", "--k", "2"},
		{"dataset", "check", "f.csv", "--k", "2"},
		{"dataset", "check", "f.csv", "--qi", "a"},
	} {
		if code, _, _ := runCLI(t, args...); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
	dir := t.TempDir()
	f := filepath.Join(dir, "t.csv")
	// Two classes of 2; one suppressed row; person p1 twice in class a.
	os.WriteFile(f, []byte("zip,person,disease\na,p1,flu\na,p1,hiv\nb,p2,flu\nb,p3,flu\n*,p4,flu\n"), 0o600)
	cases := []struct {
		args []string
		code int
		has  string
	}{
		{[]string{"--qi", "zip", "--k", "2"}, 0, "rows 5, suppressed 1, classes 2"},
		{[]string{"--qi", "zip", "--k", "3"}, 1, "k: achieved 2, required 3: FAILED"},
		{[]string{"--qi", "zip", "--k", "2", "--person", "person"}, 1, "k: achieved 1"},
		{[]string{"--qi", "zip", "--k", "2", "--sensitive", "disease", "--l", "2"}, 1, "distinct l: achieved 1"},
		{[]string{"--qi", "zip", "--k", "2", "--max-suppression", "0.1"}, 1, "suppression: 0.2000, allowed 0.1000: FAILED"},
		{[]string{"--qi", "nope", "--k", "2"}, 1, `"nope" is not in the header`},
	}
	for _, tc := range cases {
		code, stdout, stderr := runCLI(t, append([]string{"dataset", "check", f}, tc.args...)...)
		if code != tc.code || !strings.Contains(stdout+stderr, tc.has) {
			t.Errorf("%v: exit %d\n%s%s\nwant %d and %q", tc.args, code, stdout, stderr, tc.code, tc.has)
		}
	}
}

func TestAnonymizeKeepsOtherColumns(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.csv")
	// Comma-separated, a quoted non-QI column, QIs named out of order.
	os.WriteFile(in, []byte("note,zip,age\n\"a, b\",47677,30\nc,47678,30\n\"say \"\"d\"\"\",47602,40\ne,47605,40\nf,47605,41\n"), 0o600)
	zip := filepath.Join(dir, "zip.csv")
	os.WriteFile(zip, []byte("47677;4767*;*\n47678;4767*;*\n47602;4760*;*\n47605;4760*;*\n"), 0o600)
	out := filepath.Join(dir, "out.csv")
	code, _, stderr := runCLI(t, "anonymize", "--in", in, "--qi", "age,zip", "--hierarchy", "zip="+zip, "--sep", ",", "--k", "2", "--max-suppression", "0.2", "--out", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	got, _ := os.ReadFile(out)
	// Ages stay (only 41 is alone, and one suppressed row is cheaper than
	// generalising every age); ZIP codes go to 4767*/4760*.
	want := "note,zip,age\n\"a, b\",4767*,30\nc,4767*,30\n\"say \"\"d\"\"\",4760*,40\ne,4760*,40\nf,*,*\n"
	if string(got) != want {
		t.Fatalf("output:\n%s\nwant:\n%s", got, want)
	}
	if code, stdout, _ := runCLI(t, "dataset", "check", out, "--qi", "zip,age", "--k", "2"); code != 0 {
		t.Fatalf("check: %s", stdout)
	}
}
