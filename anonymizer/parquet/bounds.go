package parquet

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// A file to read may come from anywhere (a leak to trace), and the
// library trusts what the file declares: a Thrift list or string length
// becomes an allocation before any element is read, so a 40-byte file
// declaring 2³¹ row groups stalls the reader for seconds or runs the
// process out of memory (the FuzzRead corpus holds such files). checkFile
// therefore walks the footer and every page header itself before the
// library sees them, refusing any length that exceeds the bytes behind
// it, and bounds what a page may make the decoder allocate.
const (
	// MaxFileBytes bounds the files Read accepts at all.
	MaxFileBytes = 1 << 34
	// maxFooterBytes bounds the file metadata. Writer's footers hold a
	// few hundred bytes per column and row group; every list the
	// library decodes from it is at most this many elements.
	maxFooterBytes = 1 << 20
	// maxPageHeaderBytes bounds one page header (statistics included).
	maxPageHeaderBytes = 1 << 16
	// maxPageBytes bounds a page's uncompressed size, and maxPageValues
	// the values a data page holds (the decoder allocates per value).
	// Writer's data pages hold some 64,000 values; its dictionary pages
	// grow with the distinct values (25 MB for a million pseudonyms) and
	// hold at most one value per 4 bytes (a byte array's length).
	maxPageBytes  = 1 << 27
	maxPageValues = 1 << 22
	// maxThriftDepth bounds the nesting of Thrift structures.
	maxThriftDepth = 16
)

var errMalformed = errors.New("parquet: malformed file")

func malformed(what string) error { return fmt.Errorf("%w: %s", errMalformed, what) }

// Thrift compact-protocol types.
const (
	tTrue, tFalse, tByte, tI16, tI32, tI64, tDouble, tBinary, tList, tSet, tMap, tStruct, tUUID = 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13
)

// thriftWalker checks one Thrift compact-protocol structure: every
// declared length fits in the bytes that remain (each element takes at
// least one byte), types are known, nesting is bounded. visit receives
// the integer fields of the outer structure and of the structures it
// nests directly, by field path.
type thriftWalker struct {
	b     []byte
	pos   int
	visit func(outer, inner int16, v int64)
}

func (w *thriftWalker) byte() (byte, error) {
	if w.pos >= len(w.b) {
		return 0, malformed("thrift structure cut short")
	}
	w.pos++
	return w.b[w.pos-1], nil
}

func (w *thriftWalker) uvarint() (uint64, error) {
	v, n := binary.Uvarint(w.b[w.pos:])
	if n <= 0 {
		return 0, malformed("bad varint")
	}
	w.pos += n
	return v, nil
}

func (w *thriftWalker) varint() (int64, error) {
	u, err := w.uvarint()
	return int64(u>>1) ^ -int64(u&1), err
}

// length reads a declared count of elements of at least min bytes each
// and checks that they can fit.
func (w *thriftWalker) length(n uint64, min int) (int, error) {
	if n > uint64(len(w.b)-w.pos)/uint64(min) {
		return 0, malformed("declared length exceeds the file")
	}
	return int(n), nil
}

func (w *thriftWalker) skip(n int) error {
	if n > len(w.b)-w.pos {
		return malformed("declared length exceeds the file")
	}
	w.pos += n
	return nil
}

// structure walks a structure; path is the field ids above it (at most
// one is reported to visit).
func (w *thriftWalker) structure(depth int, path []int16) error {
	if depth > maxThriftDepth {
		return malformed("thrift nesting too deep")
	}
	return w.fields(func(id int16, t byte) (bool, error) {
		return true, w.value(t, depth, append(path, id))
	})
}

func (w *thriftWalker) value(t byte, depth int, path []int16) error {
	switch t {
	case tTrue, tFalse, tByte:
		return w.skip(1)
	case tI16, tI32, tI64:
		v, err := w.varint()
		if err == nil && w.visit != nil && len(path) <= 2 {
			outer, inner := path[0], int16(0)
			if len(path) == 2 {
				inner = path[1]
			}
			w.visit(outer, inner, v)
		}
		return err
	case tDouble:
		return w.skip(8)
	case tUUID:
		return w.skip(16)
	case tBinary:
		u, err := w.uvarint()
		if err != nil {
			return err
		}
		n, err := w.length(u, 1)
		if err != nil {
			return err
		}
		return w.skip(n)
	case tList, tSet:
		return w.list(func(t byte) error { return w.element(t, depth+1) })
	case tMap:
		size, err := w.uvarint()
		if err != nil || size == 0 {
			return err
		}
		kv, err := w.byte()
		if err != nil {
			return err
		}
		n, err := w.length(size, 2)
		if err != nil {
			return err
		}
		for range n {
			if err := w.element(kv>>4, depth+1); err != nil {
				return err
			}
			if err := w.element(kv&0x0f, depth+1); err != nil {
				return err
			}
		}
		return nil
	case tStruct:
		return w.structure(depth+1, path)
	}
	return malformed("unknown thrift type")
}

// element walks one list, set or map element; booleans take a byte there.
func (w *thriftWalker) element(t byte, depth int) error {
	if t == tTrue || t == tFalse {
		return w.skip(1)
	}
	return w.value(t, depth, []int16{-1, -1, -1}) // deeper than visit reports
}

// checkFile checks what the library would trust in a file of size bytes
// before it opens it (see the constants above).
func checkFile(r io.ReaderAt, size int64) error {
	if size > MaxFileBytes {
		return fmt.Errorf("parquet: file larger than %d bytes", int64(MaxFileBytes))
	}
	if size < 12 {
		return malformed("too short")
	}
	var head, tail [4]byte
	var foot [8]byte
	if _, err := r.ReadAt(head[:], 0); err != nil {
		return fmt.Errorf("parquet: %w", err)
	}
	if _, err := r.ReadAt(foot[:], size-8); err != nil {
		return fmt.Errorf("parquet: %w", err)
	}
	copy(tail[:], foot[4:])
	if string(head[:]) != "PAR1" || string(tail[:]) != "PAR1" {
		return malformed("not a plain Parquet file")
	}
	footerLen := int64(binary.LittleEndian.Uint32(foot[:4]))
	if footerLen > maxFooterBytes || footerLen > size-12 {
		return malformed("footer length")
	}
	footer := make([]byte, footerLen)
	if _, err := r.ReadAt(footer, size-8-footerLen); err != nil {
		return fmt.Errorf("parquet: %w", err)
	}
	// FileMetaData: 3 num_rows; 4 row_groups, a list of RowGroup whose
	// field 1 lists ColumnChunk, whose field 3 is ColumnMetaData. The
	// walker reports only shallow integers, so the chunks' offsets are
	// collected by walking each chunk's metadata on its own below.
	w := &thriftWalker{b: footer}
	if err := w.structure(0, nil); err != nil {
		return err
	}
	chunks, err := columnChunks(footer)
	if err != nil {
		return err
	}
	dataEnd := size - 8 - footerLen
	for _, c := range chunks {
		if err := checkChunk(r, c, dataEnd); err != nil {
			return err
		}
	}
	return nil
}

// chunk is where a column chunk's pages lie, as its metadata says.
type chunk struct {
	start, length, values int64
}

// columnChunks finds the column chunks of an already checked footer.
func columnChunks(footer []byte) ([]chunk, error) {
	var out []chunk
	w := &thriftWalker{b: footer}
	// Walk FileMetaData by hand down to the ColumnMetaData structures.
	return out, w.fields(func(id int16, t byte) (bool, error) {
		if id != 4 || t != tList {
			return false, nil
		}
		return true, w.list(func(t byte) error { // RowGroup
			if t != tStruct {
				return malformed("row group is not a structure")
			}
			return w.fields(func(id int16, t byte) (bool, error) {
				if id != 1 || t != tList {
					return false, nil
				}
				return true, w.list(func(t byte) error { // ColumnChunk
					if t != tStruct {
						return malformed("column chunk is not a structure")
					}
					return w.fields(func(id int16, t byte) (bool, error) {
						if id != 3 || t != tStruct {
							return false, nil
						}
						var c chunk
						var data, dict int64
						inner := &thriftWalker{b: w.b, pos: w.pos, visit: func(f, nested int16, v int64) {
							if nested != 0 {
								return
							}
							switch f {
							case 5:
								c.values = v
							case 7:
								c.length = v
							case 9:
								data = v
							case 11:
								dict = v
							}
						}}
						if err := inner.structure(1, nil); err != nil {
							return true, err
						}
						w.pos = inner.pos
						c.start = data
						if dict > 0 && dict < data {
							c.start = dict
						}
						out = append(out, c)
						return true, nil
					})
				})
			})
		})
	})
}

// fieldHeader reads one field header of the compact protocol after the
// field id prev: the field's id and type, or end at the stop byte.
func (w *thriftWalker) fieldHeader(prev int16) (id int16, t byte, end bool, err error) {
	h, err := w.byte()
	if err != nil || h == 0 {
		return 0, 0, h == 0, err
	}
	id = prev + int16(h>>4)
	if h>>4 == 0 {
		v, err := w.varint()
		if err != nil {
			return 0, 0, false, err
		}
		id = int16(v)
	}
	return id, h & 0x0f, false, nil
}

// fields walks a structure's fields, letting handle consume those it
// wants (returning true); the others are skipped.
func (w *thriftWalker) fields(handle func(id int16, t byte) (bool, error)) error {
	var id int16
	for {
		var t byte
		var end bool
		var err error
		if id, t, end, err = w.fieldHeader(id); err != nil || end {
			return err
		}
		if t == tTrue || t == tFalse {
			continue
		}
		done, err := handle(id, t)
		if err != nil {
			return err
		}
		if !done {
			if err := w.value(t, 1, []int16{-1, -1, -1}); err != nil {
				return err
			}
		}
	}
}

// list walks a list, calling each for every element with its type; each
// must consume the element.
func (w *thriftWalker) list(each func(t byte) error) error {
	h, err := w.byte()
	if err != nil {
		return err
	}
	size := uint64(h >> 4)
	if size == 15 {
		if size, err = w.uvarint(); err != nil {
			return err
		}
	}
	n, err := w.length(size, 1)
	if err != nil {
		return err
	}
	for range n {
		if err := each(h & 0x0f); err != nil {
			return err
		}
	}
	return nil
}

// checkChunk walks the page headers of one column chunk.
func checkChunk(r io.ReaderAt, c chunk, dataEnd int64) error {
	if c.start < 4 || c.length <= 0 || c.start > dataEnd || c.length > dataEnd-c.start {
		return malformed("column chunk outside the file")
	}
	if c.values < 0 {
		return malformed("column chunk value count")
	}
	end := c.start + c.length
	buf := make([]byte, min(maxPageHeaderBytes, c.length))
	for pos := c.start; pos < end; {
		n, err := r.ReadAt(buf[:min(int64(len(buf)), end-pos)], pos)
		if n == 0 && err != nil {
			return fmt.Errorf("parquet: %w", err)
		}
		var uncompressed, compressed, values, dictValues int64 = -1, -1, 0, 0
		w := &thriftWalker{b: buf[:n], visit: func(outer, inner int16, v int64) {
			switch {
			case outer == 2 && inner == 0:
				uncompressed = v
			case outer == 3 && inner == 0:
				compressed = v
			case (outer == 5 || outer == 8) && inner == 1:
				values = v
			case outer == 7 && inner == 1:
				dictValues = v
			}
		}}
		if err := w.structure(0, nil); err != nil {
			return err
		}
		switch {
		case compressed < 0 || compressed > end-pos-int64(w.pos):
			return malformed("page size")
		case uncompressed < 0 || uncompressed > maxPageBytes:
			return malformed("uncompressed page size")
		case values < 0 || values > maxPageValues || values > c.values:
			return malformed("page value count")
		case dictValues < 0 || dictValues > uncompressed/4 || dictValues > c.values:
			return malformed("dictionary value count")
		}
		pos += int64(w.pos) + compressed
	}
	return nil
}
