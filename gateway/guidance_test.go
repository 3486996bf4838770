package gateway

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/degreegate/degreegate/policies"
)

// serverProblems are the 5xx types: the client did nothing wrong, and
// Retry-After or the title says what there is to know.
var serverProblems = map[string]bool{
	"/problems/internal": true, "/problems/not-ready": true, "/problems/audit-unavailable": true,
	"/problems/tokens-unavailable": true, "/problems/codes-unavailable": true, "/problems/access-log-unavailable": true,
	"/problems/quota-unavailable": true, "/problems/replay-check-unavailable": true, "/problems/datasets-unavailable": true,
	"/problems/log-unavailable": true, "/problems/audit-search-unavailable": true, "/problems/registry-unavailable": true,
	"/problems/sheets-busy": true, "/problems/timeout": true,
}

// TestEveryClientProblemHasGuidance: every problem type the gateway's
// code names, and every policy refusal's, is either a server problem or
// has a detail saying what to do (RFC 9457: a 4xx the client can act
// on).
func TestEveryClientProblemHasGuidance(t *testing.T) {
	files, _ := filepath.Glob("*.go")
	types := map[string]bool{}
	literal := regexp.MustCompile(`"(/problems/[a-z-]+)"`)
	for _, f := range files {
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
	for typ := range types {
		if !serverProblems[typ] && guidance[typ] == "" {
			t.Errorf("%s: a client problem with no guidance (guidance.go)", typ)
		}
	}
	for typ := range guidance {
		if !types[typ] {
			t.Errorf("guidance for %s, which nothing answers", typ)
		}
	}
}
