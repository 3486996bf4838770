package recordbin

import (
	"bytes"
	"encoding/gob"
	"encoding/json"
	"reflect"
	"slices"
	"testing"

	"github.com/degreegate/degreegate/registry"
	"github.com/degreegate/degreegate/registry/registrytest"
)

// bodies returns sample record bodies as the PostgreSQL store keeps them:
// sealed, so without their direct identifiers.
func bodies() []registry.Record {
	rs := make([]registry.Record, 64)
	for i := range rs {
		rs[i] = registrytest.SampleSealed(i).Record
	}
	return rs
}

// codec is one way to keep a record body in a bytea column.
type codec struct {
	name   string
	encode func([]byte, *registry.Record) []byte
	decode func([]byte, *registry.Record) error
}

func codecs() []codec {
	return []codec{
		{"recordbin", AppendRecord, DecodeRecord},
		{"table", appendByTable, decodeByTable},
		{"json", func(dst []byte, r *registry.Record) []byte {
			b, _ := json.Marshal(r)
			return append(dst, b...)
		}, func(b []byte, r *registry.Record) error { return json.Unmarshal(b, r) }},
		// gob sends its type description with every stream: a body per
		// row is a stream per row. Exported fields only, so Dates (whose
		// fields are unexported) go as their strings through a mirror.
		{"gob", func(dst []byte, r *registry.Record) []byte {
			buf := bytes.NewBuffer(dst)
			if err := gob.NewEncoder(buf).Encode(toGob(r)); err != nil {
				panic(err)
			}
			return buf.Bytes()
		}, func(b []byte, r *registry.Record) error {
			var g gobRecord
			if err := gob.NewDecoder(bytes.NewReader(b)).Decode(&g); err != nil {
				return err
			}
			fromGob(&g, r)
			return nil
		}},
	}
}

// gobRecord mirrors the record through registry.Fields: text, dates and
// months as strings, the rest as they are.
type gobRecord struct {
	Text     map[string]string
	Years    int
	Keywords []string
	Flag     bool
}

func toGob(r *registry.Record) gobRecord {
	g := gobRecord{Text: make(map[string]string, 40)}
	for _, f := range registry.Fields() {
		switch f.Kind {
		case registry.FieldText:
			if v := f.Text(r); v != "" {
				g.Text[f.Name] = v
			}
		case registry.FieldDate:
			g.Text[f.Name] = f.Date(r).String()
		case registry.FieldMonth:
			g.Text[f.Name] = f.Month(r).String()
		case registry.FieldInt:
			g.Years = *f.Int(r)
		case registry.FieldBool:
			g.Flag = *f.Bool(r)
		case registry.FieldList:
			g.Keywords = *f.List(r)
		}
	}
	return g
}

func fromGob(g *gobRecord, r *registry.Record) {
	for _, f := range registry.Fields() {
		switch f.Kind {
		case registry.FieldText:
			f.SetText(r, g.Text[f.Name])
		case registry.FieldDate:
			*f.Date(r), _ = registry.ParseDate(g.Text[f.Name])
		case registry.FieldMonth:
			*f.Month(r), _ = registry.ParseMonth(g.Text[f.Name])
		case registry.FieldInt:
			*f.Int(r) = g.Years
		case registry.FieldBool:
			*f.Bool(r) = g.Flag
		case registry.FieldList:
			*f.List(r) = g.Keywords
		}
	}
}

// BenchmarkBody compares recordbin with encoding/json and encoding/gob
// for the body column: time to encode and decode one sample body, and
// its size (body-B).
func BenchmarkBody(b *testing.B) {
	rs := bodies()
	for _, c := range codecs() {
		encoded := make([][]byte, len(rs))
		size := 0
		for i := range rs {
			encoded[i] = c.encode(nil, &rs[i])
			size += len(encoded[i])
		}
		b.Run(c.name+"/encode", func(b *testing.B) {
			b.ReportAllocs()
			var buf []byte
			i := 0
			for b.Loop() {
				buf = c.encode(buf[:0], &rs[i%len(rs)])
				i++
			}
			b.ReportMetric(float64(size)/float64(len(rs)), "body-B")
		})
		b.Run(c.name+"/decode", func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				var r registry.Record
				if err := c.decode(encoded[i%len(encoded)], &r); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}

// format1Fields is registry.Fields in format 1's order, less the secret
// fields: what a codec walking the table would walk.
func format1Fields() []registry.Field {
	var out []registry.Field
	for _, f := range registry.Fields() {
		if !f.Secret {
			out = append(out, f)
		}
	}
	i := slices.IndexFunc(out, func(f registry.Field) bool { return f.Name == "study_mode" })
	out[i], out[i+1] = out[i+1], out[i]
	return out
}

var byTable = format1Fields()

// appendByTable and decodeByTable are recordbin walking the table instead
// of naming each field: the same bytes, to weigh what the hand-written
// codec saves.
func appendByTable(dst []byte, r *registry.Record) []byte {
	e := encoder{b: append(dst, bodyFormat1)}
	for i := range byTable {
		f := &byTable[i]
		switch f.Kind {
		case registry.FieldText:
			e.str(f.Text(r))
		case registry.FieldDate:
			e.date(*f.Date(r))
		case registry.FieldMonth:
			e.month(*f.Month(r))
		case registry.FieldInt:
			e.int(*f.Int(r))
		case registry.FieldBool:
			e.bool(*f.Bool(r))
		case registry.FieldList:
			e.strs(*f.List(r))
		}
	}
	return e.b
}

func decodeByTable(b []byte, r *registry.Record) error {
	if len(b) == 0 || b[0] != bodyFormat1 {
		return ErrMalformed
	}
	d := newDecoder(b[1:])
	for i := range byTable {
		f := &byTable[i]
		switch f.Kind {
		case registry.FieldText:
			f.SetText(r, d.str(f.Name))
		case registry.FieldDate:
			*f.Date(r) = d.date(f.Name)
		case registry.FieldMonth:
			*f.Month(r) = d.month(f.Name)
		case registry.FieldInt:
			*f.Int(r) = d.int(f.Name)
		case registry.FieldBool:
			*f.Bool(r) = d.bool(f.Name)
		case registry.FieldList:
			*f.List(r) = d.strs(f.Name)
		}
	}
	return d.end()
}

// TestByTableIsTheSameCodec keeps the comparison honest.
func TestByTableIsTheSameCodec(t *testing.T) {
	for _, r := range bodies() {
		enc := AppendRecord(nil, &r)
		if !bytes.Equal(appendByTable(nil, &r), enc) {
			t.Fatal("appendByTable writes other bytes")
		}
		var got registry.Record
		if err := decodeByTable(enc, &got); err != nil || !reflect.DeepEqual(got, r) {
			t.Fatalf("decodeByTable: %v", err)
		}
	}
}
