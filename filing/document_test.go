package filing_test

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/degreegate/degreegate/filing"
	"github.com/degreegate/degreegate/filing/filingtest"
	"github.com/degreegate/degreegate/registry"
	"github.com/degreegate/degreegate/registry/inmem"
	"github.com/degreegate/degreegate/registry/recordfile"
)

// refusingTrail is a store whose trail refuses appends once told to.
type refusingTrail struct {
	*inmem.Store
	refuse bool
}

func (s *refusingTrail) AppendAudit(ctx context.Context, es []registry.AuditEntry) error {
	if s.refuse {
		return errors.New("the trail is down")
	}
	return s.Store.AppendAudit(ctx, es)
}

type beijingUnits struct{}

func (beijingUnits) UnitProvince(string) string { return "11" }

type rows struct{ rs []recordfile.Row }

func (r *rows) Next() (recordfile.Row, error) {
	if len(r.rs) == 0 {
		return recordfile.Row{}, io.EOF
	}
	row := r.rs[0]
	r.rs = r.rs[1:]
	return row, nil
}

// A batch's resolution names the people it confers degrees on: it is
// sent only after its read is in the trail, and not at all when the
// trail refuses the entry.
func TestResolutionIsSentOnlyOnceItsReadIsRecorded(t *testing.T) {
	store := &refusingTrail{Store: inmem.New()}
	keys, err := registry.NewRandomKeyring()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 7, 1, 9, 0, 0, 0, time.UTC)
	desk := filing.NewDesk(store, store, keys, registry.NewRandomLogKey(), beijingUnits{}, func() time.Time { return now })
	collector := filing.Actor{Issuer: "idp", Subject: "c", Kind: filing.Unit, Code: "10001", Duties: []filing.Duty{filing.Collector}}
	province := filing.Actor{Issuer: "idp", Subject: "p", Kind: filing.Province, Code: "11"}
	recs := filingtest.Records(3, 1, "10001", "R-1")
	pdf := []byte("%PDF-1.7\n%%EOF\n")
	b, err := desk.NewBatch(t.Context(), collector, filing.NewBatch{ResolutionNumber: "R-1",
		ResolutionEffective: registry.NewDate(2026, 6, 30), Document: pdf, Rows: &rows{[]recordfile.Row{{Line: 2, Record: recs[0]}}}})
	if err != nil {
		t.Fatal(err)
	}
	store.refuse = true
	if doc, err := desk.Document(t.Context(), province, b.ID); err == nil || doc != nil {
		t.Fatalf("with the trail down: %q, %v", doc, err)
	}
	store.refuse = false
	if doc, err := desk.Document(t.Context(), province, b.ID); err != nil || string(doc) != string(pdf) {
		t.Fatalf("with the trail up: %q, %v", doc, err)
	}
}
