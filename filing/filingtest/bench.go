package filingtest

import (
	"context"
	"testing"
	"time"

	"github.com/degreegate/degreegate/filing"
	"github.com/degreegate/degreegate/registry"
	"github.com/degreegate/degreegate/registry/synth"
)

// Benchmark measures the targets on a backend: upload (validate,
// seal and store) a batch of n records, then accept the whole batch in
// one action. Each iteration files n new records. open is called once.
func Benchmark(b *testing.B, n int, open func(testing.TB) Backend) {
	keys, err := registry.NewRandomKeyring()
	if err != nil {
		b.Fatal(err)
	}
	backend := open(b)
	now := start
	e := &env{b: backend, keys: keys, log: registry.NewRandomLogKey(), gen: synth.New(13), ctx: context.Background()}
	e.desk = filing.NewDesk(backend, backend, keys, e.log, testRegions, func() time.Time { return now })
	var upload, accept time.Duration
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		recs := e.records(n, "10001", "学位〔2026〕7号")
		b.StartTimer()
		t0 := time.Now()
		batch, err := e.desk.NewBatch(e.ctx, collector, filing.NewBatch{ResolutionNumber: recs[0].ResolutionNumber,
			ResolutionEffective: effective, Document: pdf, Rows: source(recs)})
		if err != nil {
			b.Fatalf("Upload: %v", err)
		}
		t1 := time.Now()
		b.StopTimer()
		for _, step := range []struct {
			a   filing.Actor
			act filing.Action
		}{{checker, filing.ActCheck}, {collector, filing.ActSubmit}} {
			if _, err := e.desk.Act(e.ctx, step.a, batch.ID, step.act, nil, ""); err != nil {
				b.Fatalf("%s: %v", step.act, err)
			}
		}
		b.StartTimer()
		t2 := time.Now()
		moved, err := e.desk.Act(e.ctx, beijing, batch.ID, filing.ActAccept, nil, "")
		if err != nil || len(moved) != n {
			b.Fatalf("accept: %d moved, %v", len(moved), err)
		}
		upload += t1.Sub(t0)
		accept += time.Since(t2)
	}
	b.ReportMetric(upload.Seconds()/float64(b.N), "upload-s/op")
	b.ReportMetric(accept.Seconds()/float64(b.N), "accept-s/op")
}
