package inmem

import (
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/degreegate/degreegate/registry"
	"github.com/degreegate/degreegate/registry/registrytest"
)

// everyField returns a Sealed whose every field holds a value no other
// field holds, found by reflection, so that a field missing from texts or
// setTexts (say, one added to Record later) cannot round-trip by luck.
func everyField(t *testing.T) registry.Sealed {
	t.Helper()
	var s registry.Sealed
	v := reflect.ValueOf(&s).Elem()
	n := 0
	var fill func(v reflect.Value)
	fill = func(v reflect.Value) {
		for i := range v.NumField() {
			f := v.Field(i)
			n++
			switch {
			case v.Type().Field(i).Anonymous:
				fill(f)
			case f.Kind() == reflect.String:
				f.SetString(fmt.Sprintf("%s·值%d", v.Type().Field(i).Name, n))
			case f.Kind() == reflect.Int:
				f.SetInt(int64(1000 + n))
			case f.Kind() == reflect.Bool:
				f.SetBool(true)
			case f.Type() == reflect.TypeFor[[]string]():
				f.Set(reflect.ValueOf([]string{fmt.Sprint("kw", n), "", strings.Repeat("长", 200)}))
			case f.Type() == reflect.TypeFor[[]byte]():
				f.SetBytes([]byte(fmt.Sprint("bytes", n)))
			case f.Type() == reflect.TypeFor[registry.Date]():
				f.Set(reflect.ValueOf(registry.NewDate(1900+n, time.Month(1+n%12), 1+n%28)))
			case f.Type() == reflect.TypeFor[registry.Month]():
				f.Set(reflect.ValueOf(registry.NewMonth(1900+n, time.Month(1+n%12))))
			default:
				t.Fatalf("everyField does not know how to fill %s of type %s", v.Type().Field(i).Name, f.Type())
			}
		}
	}
	fill(v)
	return s
}

func roundTrip(t *testing.T, in registry.Sealed) {
	t.Helper()
	p, err := pack(&in)
	if err != nil {
		t.Fatalf("pack: %v", err)
	}
	out := p.unpack()
	if !reflect.DeepEqual(in, out) {
		t.Errorf("pack/unpack changed the record:\n in  %+v\n out %+v", in, out)
	}
}

func TestPackCoversEveryField(t *testing.T) {
	roundTrip(t, everyField(t))
}

func TestPackEdgeCases(t *testing.T) {
	sample := registrytest.SampleSealed(9)
	empty := sample
	empty.ThesisKeywords, empty.Secret, empty.PersonIndex, empty.Digest = []string{}, []byte{}, []byte{}, []byte{}
	long := sample
	long.ThesisTitle = strings.Repeat("题", 50_000)
	long.ThesisKeywords = []string{strings.Repeat("k", 300), strings.Repeat("键", 20_000)}
	extremes := sample
	extremes.BirthDate = registry.NewDate(math.MinInt32, 0, 255)
	extremes.ConferralDate = registry.NewDate(math.MaxInt32, 255, 0)
	extremes.EnrolmentMonth = registry.NewMonth(-1, 12)
	extremes.ProgrammeYears = math.MinInt
	for name, r := range map[string]registry.Sealed{
		"zero":                  {},
		"sample":                sample,
		"empty, not nil":        empty,
		"long text":             long,
		"extreme dates and int": extremes,
	} {
		t.Run(name, func(t *testing.T) { roundTrip(t, r) })
	}
}

func TestPackRejectsDatesItCannotHold(t *testing.T) {
	for name, mutate := range map[string]func(*registry.Sealed){
		"year":  func(r *registry.Sealed) { r.BirthDate = registry.NewDate(math.MaxInt32+1, 1, 1) },
		"month": func(r *registry.Sealed) { r.GraduationMonth = registry.NewMonth(2000, 256) },
		"day":   func(r *registry.Sealed) { r.RevokedOn = registry.NewDate(2000, 1, -1) },
	} {
		r := registrytest.SampleSealed(1)
		mutate(&r)
		if _, err := pack(&r); err == nil {
			t.Errorf("%s out of range: pack accepted it", name)
		}
	}
}

// TestUnpackedSlicesAreIndependent: appending to one returned slice must
// not overwrite the next, which shares its allocation.
func TestUnpackedSlicesAreIndependent(t *testing.T) {
	r := registrytest.SampleSealed(2)
	p, err := pack(&r)
	if err != nil {
		t.Fatal(err)
	}
	out := p.unpack()
	_ = append(out.Secret, 0xff, 0xff)
	_ = append(out.PersonIndex, 0xff)
	if string(out.PersonIndex) != string(r.PersonIndex) || string(out.Digest) != string(r.Digest) {
		t.Error("an append to one unpacked slice changed another")
	}
}

func FuzzPackRoundTrip(f *testing.F) {
	f.Add("王·伟", "kw1;kw2", []byte{1, 2, 3}, []byte{}, 2024, 6, 30, 4, true)
	f.Add("", "", []byte(nil), []byte{0}, 0, 0, 0, 0, false)
	f.Fuzz(func(t *testing.T, name, keywords string, secret, digest []byte, y, m, d, years int, classified bool) {
		r := registrytest.SampleSealed(5)
		r.Name, r.ThesisTitle = name, keywords
		r.ThesisKeywords = strings.Split(keywords, ";")
		r.Secret, r.Digest = secret, digest
		r.ConferralDate = registry.NewDate(y, time.Month(m), d)
		r.ApplicationMonth = registry.NewMonth(y, time.Month(m))
		r.ProgrammeYears, r.ThesisClassified = years, classified
		p, err := pack(&r)
		if err != nil {
			_, okD := packDay(r.ConferralDate)
			_, okM := packMonth(r.ApplicationMonth)
			if okD && okM {
				t.Fatalf("pack refused a record it can hold: %v", err)
			}
			return
		}
		if out := p.unpack(); !reflect.DeepEqual(r, out) {
			t.Fatalf("round trip changed the record:\n in  %+v\n out %+v", r, out)
		}
	})
}

// TestPackFollowsTheTable: the blob's text spans are registry.Fields'
// text fields in the table's order, then KeyID, so that texts and
// setTexts cannot fall out of step with the table unnoticed.
func TestPackFollowsTheTable(t *testing.T) {
	k := 0
	for _, f := range registry.Fields() {
		if f.Kind != registry.FieldText {
			continue
		}
		var s registry.Sealed
		f.SetText(&s.Record, "值 "+f.Name)
		p, err := pack(&s)
		if err != nil {
			t.Fatal(err)
		}
		if k >= tKeyID || p.span(k) != "值 "+f.Name {
			t.Fatalf("text span %d is not %s", k, f.Name)
		}
		if out := p.unpack(); f.Text(&out.Record) != "值 "+f.Name {
			t.Errorf("%s does not come back out", f.Name)
		}
		k++
	}
	if k != tKeyID {
		t.Errorf("the table has %d text fields, the blob %d before KeyID", k, tKeyID)
	}
}
