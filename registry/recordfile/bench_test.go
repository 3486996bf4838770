package recordfile

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/degreegate/degreegate/registry"
)

// benchRecords is n realistic records: the samples with distinct numbers.
func benchRecords(n int) []registry.Record {
	base := sampleRecords()
	out := make([]registry.Record, n)
	for i := range out {
		r := base[i%len(base)]
		r.CertificateNumber = fmt.Sprintf("%s%06d", r.CertificateNumber[:10], i)
		r.StudentNumber = fmt.Sprintf("%s%04d", r.StudentNumber, i%10000)
		out[i] = r
	}
	return out
}

func benchRead(b *testing.B, f Format) {
	const n = 10000
	file := writeAll(b, benchRecords(n), f)
	b.SetBytes(int64(len(file)))
	b.ReportAllocs()
	for b.Loop() {
		rd, err := NewReader(strings.NewReader(file), f, Options{})
		if err != nil {
			b.Fatal(err)
		}
		rows := 0
		for {
			row, err := rd.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil || len(row.Problems) > 0 {
				b.Fatalf("row %d: %v %v", rows, err, row.Problems)
			}
			rows++
		}
		if rows != n {
			b.Fatalf("read %d rows, want %d", rows, n)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

func BenchmarkReadCSV(b *testing.B)   { benchRead(b, CSV) }
func BenchmarkReadJSONL(b *testing.B) { benchRead(b, JSONL) }

func benchWrite(b *testing.B, f Format) {
	recs := benchRecords(1000)
	b.ReportAllocs()
	for b.Loop() {
		w, err := NewWriter(io.Discard, f)
		if err != nil {
			b.Fatal(err)
		}
		for i := range recs {
			if err := w.Write(&recs[i]); err != nil {
				b.Fatal(err)
			}
		}
		if err := w.Flush(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(recs))*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

func BenchmarkWriteCSV(b *testing.B)   { benchWrite(b, CSV) }
func BenchmarkWriteJSONL(b *testing.B) { benchWrite(b, JSONL) }
