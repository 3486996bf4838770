package ingest_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/degreegate/degreegate/registry"
	"github.com/degreegate/degreegate/registry/ingest"
	"github.com/degreegate/degreegate/registry/inmem"
	"github.com/degreegate/degreegate/registry/recordfile"
	"github.com/degreegate/degreegate/registry/synth"
)

var today = registry.NewDate(2026, 11, 29)

// rows is a Source over prepared rows.
type rows struct{ rs []recordfile.Row }

func (s *rows) Next() (recordfile.Row, error) {
	if len(s.rs) == 0 {
		return recordfile.Row{}, io.EOF
	}
	r := s.rs[0]
	s.rs = s.rs[1:]
	return r, nil
}

func synthRows(t *testing.T, n int) []recordfile.Row {
	t.Helper()
	g := synth.New(7)
	out := make([]recordfile.Row, n)
	for i := range out {
		out[i] = recordfile.Row{Line: i + 2, Record: g.Record(i)}
	}
	return out
}

func keyring(t *testing.T) *registry.Keyring {
	t.Helper()
	k, err := registry.NewRandomKeyring()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// testLogKey commits the filing entries of these tests.
var testLogKey = registry.NewRandomLogKey()

// trail is the audit trail of store (an inmem store, or one wrapped by
// failingStore), committing under testLogKey.
func trail(store registry.Store) registry.Committing {
	if f, ok := store.(*failingStore); ok {
		store = f.Store
	}
	return registry.Committing{AuditLog: store.(registry.AuditLog), Key: testLogKey}
}

func run(t *testing.T, store registry.Store, keys *registry.Keyring, rs []recordfile.Row, batch int) (ingest.Summary, []ingest.Rejection, error) {
	t.Helper()
	var rej []ingest.Rejection
	sum, err := ingest.Run(context.Background(), &rows{append([]recordfile.Row(nil), rs...)}, store, keys, ingest.Options{
		BatchSize: batch, Today: today, Change: registry.Change{Actor: "test", Reason: "test"}, Log: trail(store),
		Reject: func(r ingest.Rejection) { rej = append(rej, r) },
	})
	return sum, rej, err
}

func TestImportThenReimportIsNoOp(t *testing.T) {
	store, keys := inmem.New(), keyring(t)
	rs := synthRows(t, 1200)
	sum, rej, err := run(t, store, keys, rs, 500)
	if err != nil || len(rej) > 0 {
		t.Fatalf("err %v, rejections %v", err, rej)
	}
	if sum.Inserted != 1200 || sum.Rows != 1200 || sum.Batches != 3 {
		t.Fatalf("summary %+v", sum)
	}
	sum, rej, err = run(t, store, keys, rs, 500)
	if err != nil || len(rej) > 0 || sum.Unchanged != 1200 || sum.Inserted != 0 {
		t.Fatalf("re-import: %+v %v %v", sum, rej, err)
	}
	if n, _ := store.Count(context.Background()); n != 1200 {
		t.Fatalf("store holds %d records after re-import, want 1200", n)
	}
	// What was filed opens back to what was read (normalised).
	want := rs[17].Record
	registry.Normalize(&want)
	v, err := store.Current(context.Background(), want.CertificateNumber)
	if err != nil {
		t.Fatal(err)
	}
	got, err := keys.Open(v.Sealed)
	if err != nil || got.IDNumber != want.IDNumber || got.Name != want.Name {
		t.Fatalf("filed record does not open to the imported one (err %v)", err)
	}
}

func TestImportRejectsWithLineFieldAndCode(t *testing.T) {
	store, keys := inmem.New(), keyring(t)
	rs := synthRows(t, 10)
	// Pre-file a different record under row 8's certificate number.
	conflicting := rs[8].Record
	conflicting.ResolutionNumber = "other resolution"
	if _, _, err := run(t, store, keys, []recordfile.Row{{Line: 2, Record: conflicting}}, 10); err != nil {
		t.Fatal(err)
	}

	rs[1].Problems = []registry.Violation{{Field: "birth_date", Code: "bad_date", Message: "want YYYY-MM-DD"}}
	rs[3].Record.IDNumber = rs[3].Record.IDNumber[:17] + flip(rs[3].Record.IDNumber[17])
	rs[5].Record.ConferralDate = registry.NewDate(2027, 6, 30)
	rs[6].Record = rs[2].Record // the same certificate twice in one file
	sum, rej, err := run(t, store, keys, rs, 3)
	if err != nil {
		t.Fatal(err)
	}
	byLine := map[int][]ingest.Rejection{}
	for _, r := range rej {
		byLine[r.Line] = append(byLine[r.Line], r)
	}
	expect := []struct {
		line        int
		field, code string
	}{
		{rs[1].Line, "birth_date", "bad_date"},
		{rs[3].Line, "id_number", ""},
		{rs[5].Line, "conferral_date", ""},
		{rs[6].Line, "certificate_number", ingest.CodeDuplicate},
		{rs[8].Line, "certificate_number", ingest.CodeConflict},
	}
	for _, e := range expect {
		found := false
		for _, r := range byLine[e.line] {
			if r.Field == e.field && (e.code == "" || r.Code == e.code) && r.Message != "" {
				found = true
			}
		}
		if !found {
			t.Errorf("line %d: no rejection of %s/%s; got %+v", e.line, e.field, e.code, byLine[e.line])
		}
	}
	if len(byLine) != len(expect) {
		t.Errorf("rejected lines %v, want exactly %d", byLine, len(expect))
	}
	if sum.Rejected != len(expect) || sum.Inserted != 10-len(expect) || sum.Rows != 10 {
		t.Errorf("summary %+v", sum)
	}
	for i := 1; i < len(rej); i++ {
		if rej[i].Line < rej[i-1].Line {
			t.Errorf("rejections out of line order: %d after %d", rej[i].Line, rej[i-1].Line)
		}
	}
	for _, r := range rej {
		if r.Field == "certificate_number" && r.Code == ingest.CodeDuplicate && !strings.Contains(r.Message, "line 4") {
			t.Errorf("duplicate message %q does not name the first line", r.Message)
		}
	}
}

func flip(c byte) string {
	if c == '0' {
		return "1"
	}
	return "0"
}

// failingStore fails its nth Insert, after which nothing more is written.
type failingStore struct {
	registry.Store
	calls, failOn int
}

func (f *failingStore) Insert(ctx context.Context, b []registry.Sealed, c registry.Change, filings []registry.AuditEntry) ([]registry.Outcome, error) {
	f.calls++
	if f.calls == f.failOn {
		return nil, errors.New("connection reset")
	}
	return f.Store.Insert(ctx, b, c, filings)
}

func TestFailedBatchStopsAndKeepsEarlierBatches(t *testing.T) {
	mem := inmem.New()
	store := &failingStore{Store: mem, failOn: 2}
	sum, _, err := run(t, store, keyring(t), synthRows(t, 1000), 300)
	if !errors.Is(err, ingest.ErrBatch) {
		t.Fatalf("err = %v, want ErrBatch", err)
	}
	if n, _ := mem.Count(context.Background()); n != 300 || sum.Inserted != 300 {
		t.Fatalf("store holds %d, summary says %d; want exactly the first batch of 300", n, sum.Inserted)
	}
	if !strings.Contains(err.Error(), "lines 302") {
		t.Errorf("error %q does not name the failed batch's lines", err)
	}
}

func TestImportStopsOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	mem := inmem.New()
	_, err := ingest.Run(ctx, &rows{synthRows(t, 100)}, mem, keyring(t), ingest.Options{Today: today, Change: registry.Change{Actor: "t", At: time.Now()}, Log: trail(mem)})
	if err == nil {
		t.Fatal("cancelled import reported success")
	}
}

func TestImportFromCSV(t *testing.T) {
	var b strings.Builder
	w, err := recordfile.NewWriter(&b, recordfile.CSV)
	if err != nil {
		t.Fatal(err)
	}
	g := synth.New(3)
	for i := 0; i < 50; i++ {
		r := g.Record(i)
		if err := w.Write(&r); err != nil {
			t.Fatal(err)
		}
	}
	w.Flush()
	rd, err := recordfile.NewReader(strings.NewReader(b.String()), recordfile.CSV, recordfile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	store := inmem.New()
	sum, err := ingest.Run(context.Background(), rd, store, keyring(t), ingest.Options{Today: today, Change: registry.Change{Actor: "t"}, Log: trail(store)})
	if err != nil || sum.Inserted != 50 {
		t.Fatalf("%+v %v", sum, err)
	}
}
