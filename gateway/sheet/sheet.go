// Package sheet reads and writes the spreadsheets offices send to the
// agency route: a CSV file (UTF-8, or GB 18030 as Excel saves it in a
// Chinese locale) or an XLSX workbook, holding a header row and then one
// row per query. An upload comes from outside, so reading is bounded —
// rows, columns, and what a workbook may inflate to — and an error names
// the row and the rule, never a cell's value. Writing is the answer's
// side: the same format, with cells that could run as formulas defused.
package sheet

import (
	"archive/zip"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/simplifiedchinese"
)

// The media types of the two formats.
const (
	CSV  = "text/csv"
	XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
)

const (
	// MaxColumns bounds a row: the queries need four columns, and an
	// office may keep a few of its own beside them.
	MaxColumns = 64
	// unzipLimit bounds what an XLSX may inflate to, all parts together.
	// The gateway's body limit is 1 MiB; a thousand rows of queries
	// inflate to well under 1 MiB, so 4 MiB leaves room for formatting
	// and the office's own columns. The reader allocates about nine times
	// what it unpacks (TestReadBoundsMemory: 109 MiB for 12 MB of text
	// under the old 16 MiB limit), so this bounds a read to some 40 MiB.
	// archive/zip refuses an entry that inflates past its declared size,
	// so a lying header does not get around it.
	unzipLimit = 4 << 20
)

// countSharedStrings counts the entries (<si>, with or without a
// namespace prefix) of a shared-string table, up to most+1, without
// allocating: the count is what keeps the reader from loading a huge
// table.
func countSharedStrings(b []byte, most int) int {
	n := 0
	for i := 0; n <= most; {
		j := bytes.IndexByte(b[i:], '<')
		if j < 0 {
			return n
		}
		name, end := i+j+1, nameEnd(b, i+j+1)
		if end < len(b) && b[end] == ':' { // a prefix: the local name follows
			name, end = end+1, nameEnd(b, end+1)
		}
		if string(b[name:end]) == "si" {
			n++
		}
		i = end
	}
	return n
}

// nameEnd is where the tag name that starts at b[i] ends: at a prefix's
// ':', the tag's end or a space.
func nameEnd(b []byte, i int) int {
	for i < len(b) && !strings.ContainsRune(":>/ \t\n\r", rune(b[i])) {
		i++
	}
	return i
}

// checkSharedStrings refuses a workbook whose shared-string table holds
// more texts than maxRows rows of MaxColumns cells could use: the reader
// loads the whole table before the first row, and 900,000 one-letter
// texts, 43 KB packed, made it allocate 916 MiB.
func checkSharedStrings(body []byte, maxRows int) error {
	z, err := zip.NewReader(bytes.NewReader(body), int64(len(body)))
	if err != nil {
		return refuse("not a readable XLSX workbook (or larger than allowed unpacked)")
	}
	for _, f := range z.File {
		if !strings.EqualFold(f.Name, "xl/sharedStrings.xml") {
			continue
		}
		r, err := f.Open()
		if err != nil {
			return refuse("not a readable XLSX workbook (or larger than allowed unpacked)")
		}
		b, err := io.ReadAll(io.LimitReader(r, unzipLimit+1))
		r.Close()
		if err != nil || len(b) > unzipLimit {
			return refuse("not a readable XLSX workbook (or larger than allowed unpacked)")
		}
		if most := (maxRows + 1) * MaxColumns; countSharedStrings(b, most) > most {
			return refuse(fmt.Sprintf("the workbook holds more than %d texts, more than %d rows of %d columns can use: upload the queries alone", (maxRows+1)*MaxColumns, maxRows+1, MaxColumns))
		}
	}
	return nil
}

var (
	// ErrFormat: the format is neither CSV nor XLSX.
	ErrFormat = errors.New("sheet: not CSV or XLSX")
	// ErrTooManyRows: more data rows than the caller allows.
	ErrTooManyRows = errors.New("sheet: too many rows")
)

// Error is an upload that cannot be read as a table. Reason names the
// row and the rule, never a cell's value, so it may be shown to the
// caller as it is.
type Error struct{ Reason string }

func (e *Error) Error() string { return "sheet: " + e.Reason }

func refuse(reason string) *Error { return &Error{Reason: reason} }

// Table is a spreadsheet as uploaded.
type Table struct {
	Format string // CSV or XLSX
	// BOM: a CSV answer should start with a byte order mark, because the
	// upload had one or was GB 18030 (Excel needs it to read UTF-8).
	BOM bool
	// Header holds the column names, trimmed and lower-cased.
	Header []string
	// Rows are the data rows, blank ones left out, each cut or padded
	// with empty cells to the header's length.
	Rows [][]string
}

// Read parses body as format (CSV or XLSX; the first sheet of a
// workbook) and reads at most maxRows data rows: ErrTooManyRows past
// that. check, when not nil, sees the header before any data row is
// read; a reason it returns refuses the table (an *Error). Other
// failures are ErrFormat or an *Error.
func Read(format string, body []byte, maxRows int, check func(header []string) (reason string)) (*Table, error) {
	t := &Table{Format: format}
	var next func() ([]string, error)
	switch format {
	case CSV:
		var err error
		if next, t.BOM, err = csvRows(body); err != nil {
			return nil, err
		}
	case XLSX:
		if err := checkSharedStrings(body, maxRows); err != nil {
			return nil, err
		}
		f, err := excelize.OpenReader(bytes.NewReader(body), excelize.Options{
			UnzipSizeLimit: unzipLimit,
			// Equal to the total, so no part is ever spilled to a
			// temporary file.
			UnzipXMLSizeLimit: unzipLimit,
			// Raw values: a number typed into a cell is read as written,
			// not through a display format such as 1E+15.
			RawCellValue: true,
		})
		if err != nil {
			return nil, refuse("not a readable XLSX workbook (or larger than allowed unpacked)")
		}
		defer f.Close()
		list := f.GetSheetList()
		if len(list) == 0 {
			return nil, refuse("the workbook has no sheet")
		}
		rows, err := f.Rows(list[0])
		if err != nil {
			return nil, refuse("the first sheet cannot be read")
		}
		defer rows.Close()
		next = func() ([]string, error) {
			if !rows.Next() {
				if err := rows.Error(); err != nil {
					return nil, refuse("the first sheet cannot be read")
				}
				return nil, io.EOF
			}
			row, err := rows.Columns()
			if err != nil {
				return nil, refuse("the first sheet cannot be read")
			}
			return row, nil
		}
	default:
		return nil, ErrFormat
	}
	if err := t.read(next, maxRows, check); err != nil {
		return nil, err
	}
	return t, nil
}

// csvRows decodes body to UTF-8 and returns its rows one by one; bom
// reports whether the upload had a byte order mark or was GB 18030.
func csvRows(body []byte) (next func() ([]string, error), bom bool, _ error) {
	if b, ok := bytes.CutPrefix(body, []byte("\uFEFF")); ok {
		body, bom = b, true
	}
	if !utf8.Valid(body) {
		// Excel in a Chinese locale saves "CSV" in GB 18030 (GBK).
		dec, err := simplifiedchinese.GB18030.NewDecoder().Bytes(body)
		if err != nil || !utf8.Valid(dec) || bytes.ContainsRune(dec, utf8.RuneError) {
			return nil, false, refuse("not UTF-8 or GB 18030 text")
		}
		body, bom = dec, true
	}
	r := csv.NewReader(bytes.NewReader(body))
	r.FieldsPerRecord = -1
	return func() ([]string, error) {
		row, err := r.Read()
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return nil, refuse(fmt.Sprintf("line %d: %s", pe.Line, pe.Err))
		}
		return row, err
	}, bom, nil
}

// read takes the header row and the data rows from next, skipping blank
// rows (spreadsheets keep empty rows below the data).
func (t *Table) read(next func() ([]string, error), maxRows int, check func([]string) string) error {
	header, err := next()
	if errors.Is(err, io.EOF) {
		return refuse("empty: want a header row, then one row per query")
	}
	if err != nil {
		return err
	}
	if len(header) > MaxColumns {
		return refuse(fmt.Sprintf("header: more than %d columns", MaxColumns))
	}
	for i, h := range header {
		header[i] = strings.ToLower(strings.TrimSpace(h))
	}
	if check != nil {
		if why := check(header); why != "" {
			return refuse(why)
		}
	}
	t.Header = header
	for line := 2; ; line++ {
		row, err := next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if len(row) > MaxColumns {
			return refuse(fmt.Sprintf("row %d: more than %d columns", line, MaxColumns))
		}
		if blank(row) {
			continue
		}
		if len(t.Rows) == maxRows {
			return ErrTooManyRows
		}
		padded := make([]string, len(header))
		copy(padded, row)
		t.Rows = append(t.Rows, padded)
	}
}

func blank(row []string) bool {
	for _, c := range row {
		if strings.TrimSpace(c) != "" {
			return false
		}
	}
	return true
}

// WriteCSV encodes rows as CSV with CRLF line ends, as spreadsheet
// programs write it, after a byte order mark when bom is set. Cells that
// a spreadsheet program would run as formulas are defused; rows is not
// changed.
func WriteCSV(rows [][]string, bom bool) ([]byte, error) {
	var buf bytes.Buffer
	if bom {
		buf.WriteString("\uFEFF")
	}
	w := csv.NewWriter(&buf)
	w.UseCRLF = true
	var out []string
	for _, row := range rows {
		out = out[:0]
		for _, v := range row {
			out = append(out, defuseFormula(v))
		}
		if err := w.Write(out); err != nil {
			return nil, err
		}
	}
	w.Flush()
	return buf.Bytes(), w.Error()
}

// defuseFormula keeps a spreadsheet program from running a cell as a
// formula when the answer is opened (CSV injection): a cell that starts
// like a formula gets a leading apostrophe. XLSX cells are written as
// text and need nothing.
func defuseFormula(v string) string {
	if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
		return "'" + v
	}
	return v
}

// WriteXLSX encodes rows as a workbook of one sheet, "results", every
// cell a text cell.
func WriteXLSX(rows [][]string) ([]byte, error) {
	f := excelize.NewFile()
	defer f.Close()
	const name = "results"
	if err := f.SetSheetName("Sheet1", name); err != nil {
		return nil, err
	}
	sw, err := f.NewStreamWriter(name)
	if err != nil {
		return nil, err
	}
	vals := make([]any, 0, 64)
	for r, row := range rows {
		cell, err := excelize.CoordinatesToCellName(1, r+1)
		if err != nil {
			return nil, err
		}
		vals = vals[:0]
		for _, v := range row {
			vals = append(vals, v)
		}
		if err := sw.SetRow(cell, vals); err != nil {
			return nil, err
		}
	}
	if err := sw.Flush(); err != nil {
		return nil, err
	}
	buf, err := f.WriteToBuffer()
	if err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
