package parquet

import (
	"bytes"
	"encoding/binary"
	"errors"
	"runtime"
	"testing"
)

// hostile wraps footer as a Parquet file: magic, footer, its length, magic.
func hostile(footer []byte) []byte {
	b := append([]byte("PAR1"), footer...)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(footer)))
	return append(b, "PAR1"...)
}

// bigList is a compact-protocol list header of n elements of type t.
func bigList(t byte, n uint64) []byte { return binary.AppendUvarint([]byte{0xf0 | t}, n) }

// TestReadBoundsHostileFiles: files that declare far more than they hold
// are refused as malformed at once, without the allocation the library
// would have made for them (before the bounds, the first of these took
// seconds and gigabytes).
func TestReadBoundsHostileFiles(t *testing.T) {
	tests := []struct {
		name string
		file []byte
	}{
		{"2^31 row groups", hostile(append([]byte{0x49}, bigList(tStruct, 1<<31-1)...))},
		{"2^31 schema elements", hostile(append([]byte{0x15, 0x02, 0x19}, bigList(tStruct, 1<<31-1)...))},
		{"2 GiB created_by", hostile(binary.AppendUvarint([]byte{0x68}, 1<<31-1))},
		{"map of 2^30 entries", hostile(append(binary.AppendUvarint([]byte{0x5b}, 1<<30), 0x88))},
		{"nesting 1000 deep", hostile(bytes.Repeat([]byte{0x1c}, 1000))},
		{"footer longer than the file", func() []byte {
			b := hostile([]byte{0})
			binary.LittleEndian.PutUint32(b[len(b)-8:], 1<<31)
			return b
		}()},
		{"not PAR1 at the end", []byte("PAR1\x15\x04\x15\x0e\x15 \x15\x8bPAR\x15")},
		{"too short", []byte("PAR1PAR1")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			err := Read(bytes.NewReader(tc.file), int64(len(tc.file)), func(_, _ []string) error { return nil })
			runtime.ReadMemStats(&after)
			if err == nil {
				t.Fatal("a hostile file was read")
			}
			if grew := after.TotalAlloc - before.TotalAlloc; grew > 1<<20 {
				t.Errorf("refusing it allocated %d bytes", grew)
			}
		})
	}
}

// TestCheckChunkPages: page headers are checked against their chunk and
// the page bounds before the library decodes them.
func TestCheckChunkPages(t *testing.T) {
	page := func(uncompressed, compressed, values int64) []byte {
		return pageOf(0x2c, uncompressed, compressed, values) // field 5 (3 + 2), a data page
	}
	dict := func(uncompressed, compressed, values int64) []byte {
		return pageOf(0x4c, uncompressed, compressed, values) // field 7 (3 + 4), a dictionary page
	}
	tests := []struct {
		name   string
		header []byte
		body   int
		values int64
		ok     bool
	}{
		{"fits", page(10, 10, 5), 10, 5, true},
		{"body past the chunk", page(10, 11, 5), 10, 5, false},
		{"negative size", page(10, -1, 5), 10, 5, false},
		{"huge uncompressed", page(1<<31-1, 10, 5), 10, 5, false},
		{"more values than the chunk", page(10, 10, 6), 10, 5, false},
		{"values past the bound", page(10, 10, maxPageValues+1), 10, maxPageValues + 1, false},
		{"dictionary", dict(40, 10, 10), 10, 10, true},
		{"dictionary of more values than bytes", dict(40, 10, 11), 10, 11, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			file := append([]byte("PAR1"), tc.header...)
			file = append(file, make([]byte, tc.body)...)
			c := chunk{start: 4, length: int64(len(tc.header) + tc.body), values: tc.values}
			err := checkChunk(bytes.NewReader(file), c, int64(len(file)))
			if tc.ok && err != nil {
				t.Errorf("refused: %v", err)
			}
			if !tc.ok && !errors.Is(err, errMalformed) {
				t.Errorf("checkChunk = %v, want a malformed file", err)
			}
		})
	}
}

// pageOf is a page header: type, sizes, and the header of the page kind
// (in field: its id's delta from field 3, and the struct type) with its
// value count.
func pageOf(field byte, uncompressed, compressed, values int64) []byte {
	zz := func(v int64) []byte { return binary.AppendUvarint(nil, uint64(v<<1^v>>63)) }
	h := []byte{0x15, 0x00, 0x15}
	h = append(h, zz(uncompressed)...)
	h = append(h, 0x15)
	h = append(h, zz(compressed)...)
	h = append(h, field, 0x15) // the page kind's header; its field 1
	h = append(h, zz(values)...)
	return append(h, 0x00, 0x00)
}
