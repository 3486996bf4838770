package policies

import (
	"go/build"
	"strings"
	"testing"
)

// DESIGN.md: policies imports nothing of the project and nothing outside
// the standard library, so the gateway and the anonymizer can both build
// on it and it can never pull a driver in.
func TestStandardLibraryOnly(t *testing.T) {
	pkg, err := build.ImportDir(".", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, imp := range pkg.Imports {
		if first, _, _ := strings.Cut(imp, "/"); strings.Contains(first, ".") {
			t.Errorf("policies imports %s: standard library only", imp)
		}
	}
}
