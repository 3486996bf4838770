package gateway

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/degreegate/degreegate/policies"
)

// TestEveryClientProblemHasGuidance: every problem type the gateway's
// code names, and every policy refusal's, is either a server problem or
// has a detail saying what to do (RFC 9457: a 4xx the client can act
// on).
func TestEveryClientProblemHasGuidance(t *testing.T) {
	types := answeredProblemTypes(t)
	for typ := range types {
		if problemDocs[typ].status < 500 && guidance[typ] == "" {
			t.Errorf("%s: a client problem with no guidance (guidance.go)", typ)
		}
	}
	for typ := range guidance {
		if !types[typ] {
			t.Errorf("guidance for %s, which nothing answers", typ)
		}
	}
}

// answeredProblemTypes are the problem types the gateway's code names,
// and every policy refusal's.
func answeredProblemTypes(t *testing.T) map[string]bool {
	t.Helper()
	files, _ := filepath.Glob("*.go")
	types := map[string]bool{}
	literal := regexp.MustCompile(`"(/problems/[a-z-]+)"`)
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") || f == "problemdocs.go" || f == "guidance.go" {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range literal.FindAllStringSubmatch(string(b), -1) {
			types[m[1]] = true
		}
	}
	for _, err := range []error{policies.ErrUnknownAudience, policies.ErrUnknownScope, policies.ErrScopeDenied, policies.ErrOrgDenied,
		policies.ErrPurposeRequired, policies.ErrPurposeRejected, policies.ErrPurposeForbidden, policies.ErrLevelRejected,
		policies.ErrBatchTooLarge, policies.ErrValidity, policies.ErrDatasetRule, nil} {
		types["/problems/"+(&policies.DeniedError{Err: err}).Code()] = true
	}
	if len(types) < 40 {
		t.Fatalf("found %d problem types; the search is broken", len(types))
	}
	return types
}
