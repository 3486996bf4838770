package postgres

import (
	"testing"

	"github.com/degreegate/degreegate/registry/registrytest"
)

// TestContract runs the shared conformance suite, each subtest against a
// freshly migrated schema of its own.
func TestContract(t *testing.T) {
	testDatabaseURL(t)
	t.Parallel()
	registrytest.Run(t, func(t *testing.T) registrytest.Backend {
		s, _ := newStore(t)
		return registrytest.Backend{Store: s, Audit: s}
	})
}
