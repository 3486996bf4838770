package inmem

import (
	"testing"

	"github.com/degreegate/degreegate/filing/filingtest"
)

func TestFilingContract(t *testing.T) {
	filingtest.Run(t, func(t *testing.T) filingtest.Backend { return New() })
}
