package disclose

import (
	"reflect"
	"slices"
	"testing"

	"github.com/degreegate/degreegate/policies"
	"github.com/degreegate/degreegate/registry/synth"
)

// TestScratchReset: a verification's scratch goes back to its pool with
// no record and no byte of what it held, so nothing personal waits there
// for the next request.
func TestScratchReset(t *testing.T) {
	rec := synth.New(1).Record(0)
	sc := new(Scratch)
	sc.ver.Record = rec
	sc.shown[0] = policies.Shown{Field: "name", Value: "张*三"}
	bufs := []*[]byte{&sc.degree, &sc.payload, &sc.receipt, &sc.Body}
	for _, b := range bufs {
		*b = append(*b, rec.IDNumber...)
	}
	big := make([]byte, maxPooledScratch+1)
	sc.Body = big
	sc.Reset()
	if !reflect.ValueOf(sc.ver).IsZero() || sc.shown[0] != (policies.Shown{}) {
		t.Error("record or shown fields kept")
	}
	for i, b := range bufs[:3] {
		if len(*b) != 0 || !slices.Equal((*b)[:cap(*b)][:len(rec.IDNumber)], make([]byte, len(rec.IDNumber))) {
			t.Errorf("buffer %d not emptied: len %d", i, len(*b))
		}
	}
	if sc.Body != nil {
		t.Error("an oversized buffer went back to the pool")
	}
}
