package anonymizer

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The table pipeline and dataset check share csvio's detector: a header
// whose quoted name holds more commas than the line has semicolons is
// read as ';'-separated, and the output keeps that separator (the
// name needs no quotes there).
func TestAnonymizeTableDetectsSeparatorOutsideQuotes(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.csv")
	table := "\"name, given, family\";zip\n" +
		"a;47677\nb;47678\nc;47602\nd;47605\n"
	if err := os.WriteFile(in, []byte(table), 0o600); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out.csv")
	m, err := AnonymizeTable(t.Context(), TableOptions{
		In: in, Out: out, Manifest: ManifestPath(out), QI: []string{"zip"}, K: 4,
		Diversity: DistinctL, Method: Global,
	})
	if err != nil {
		t.Fatal(err)
	}
	if m.Input.Rows != 4 || m.Output.Rows != 4 || m.Result.AchievedK < 4 {
		t.Errorf("rows in %d, out %d, k %d", m.Input.Rows, m.Output.Rows, m.Result.AchievedK)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if lines[0] != "name, given, family;zip" || lines[1] != "a;*" {
		t.Errorf("output begins %q", lines[:2])
	}
	if _, err := os.Stat(ManifestPath(out)); err != nil {
		t.Errorf("manifest: %v", err)
	}
}
