package gateway

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"mime"
	"path"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"
	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/degreegate/degreegate/disclose"
	"github.com/degreegate/degreegate/gateway/token"
	"github.com/degreegate/degreegate/policies"
)

// Many offices work in spreadsheets, so the agency route also takes a
// CSV file or an XLSX workbook — as the raw body or as the "file" part of
// a multipart form — and answers in the same format: the uploaded rows
// with result columns appended. The purpose comes as the query parameter
// or form field "purpose". The same limits, batch size, quota and audit
// apply as to JSON; a sheet is only another way to write the queries.

const (
	mimeCSV  = "text/csv"
	mimeXLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

	// maxSheetColumns bounds a row: the queries need four columns, and an
	// office may keep a few of its own beside them.
	maxSheetColumns = 64
	// sheetUnzipLimit bounds what an XLSX may inflate to, all parts
	// together. The body is at most 1 MiB (the server's BodyLimit); a
	// thousand rows of queries inflate to well under 1 MiB, so 16 MiB
	// leaves room for formatting and stops zip bombs. archive/zip refuses
	// an entry that inflates past its declared size, so a lying header
	// does not get around it.
	sheetUnzipLimit = 16 << 20
	// resultPrefix marks the columns the answer adds for disclosed
	// fields, so they never clash with the uploaded ones ("name").
	resultPrefix = "registry."
)

// The columns a sheet's header may name for the queries; any other
// column is the office's own, kept and echoed back.
var sheetQueryColumns = []string{"certificate_number", "id_type", "id_number", "name"}

// errTooManyRows: more data rows than the caller's batch limit.
var errTooManyRows = errors.New("too many rows")

// sheet is an uploaded spreadsheet: its rows as uploaded, and the query
// each data row makes.
type sheet struct {
	format  string // mimeCSV or mimeXLSX
	bom     bool   // a CSV answer starts with a BOM (the upload had one, or was GB 18030)
	header  []string
	rows    [][]string
	queries []disclose.AgencyQuery
}

func (s *Server) handleAgencySheet(c *fiber.Ctx, mt string) error {
	// c.Query aliases the request buffer, which Fiber reuses.
	purpose := strings.Clone(c.Query("purpose"))
	format, body := mt, c.Body()
	if mt == fiber.MIMEMultipartForm {
		var err error
		if format, body, purpose, err = readSheetForm(c, purpose); err != nil {
			return err
		}
	}
	if why := checkText(purpose, 64); why != "" {
		return invalid(map[string]string{"purpose": why})
	}
	maxRows := s.agencyMaxBatch(principal(c), purpose)
	sh, err := readSheet(format, body, maxRows)
	if errors.Is(err, errTooManyRows) {
		v := s.deps.Policy.Version()
		return &Problem{Type: "/problems/batch-too-large", Title: "The policy does not allow this", Status: fiber.StatusBadRequest,
			Detail: fmt.Sprintf("at most %d rows per call", maxRows), PolicyVersion: v}
	}
	if err != nil {
		return err
	}
	ans, err := s.answerAgency(c, purpose, sh.queries)
	if err != nil {
		return err
	}
	out, err := sh.answer(ans)
	if err != nil {
		return fmt.Errorf("agency verify: write %s answer: %w", sh.format, err)
	}
	name := "degreegate-results.xlsx"
	ct := mimeXLSX
	if sh.format == mimeCSV {
		name, ct = "degreegate-results.csv", mimeCSV+"; charset=utf-8"
	}
	c.Set(fiber.HeaderContentType, ct)
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="`+name+`"`)
	c.Set("Degreegate-Request-Id", ans.RequestID)
	return c.Send(out)
}

// readSheetForm takes the spreadsheet and the purpose from a multipart
// form; the file's format comes from its part's Content-Type, or else
// its name.
func readSheetForm(c *fiber.Ctx, purpose string) (format string, body []byte, _ string, _ error) {
	form, err := c.MultipartForm()
	if err != nil {
		return "", nil, "", problemMalformedJSON.with("not a readable multipart form")
	}
	if v := form.Value["purpose"]; len(v) > 0 {
		if len(v) > 1 || purpose != "" && purpose != v[0] {
			return "", nil, "", invalid(map[string]string{"purpose": "give it once"})
		}
		purpose = strings.Clone(v[0])
	}
	files := form.File["file"]
	if len(files) != 1 {
		return "", nil, "", invalid(map[string]string{"file": "required: exactly one spreadsheet"})
	}
	fh := files[0]
	format, _, _ = mime.ParseMediaType(fh.Header.Get(fiber.HeaderContentType))
	if format != mimeCSV && format != mimeXLSX {
		switch strings.ToLower(path.Ext(fh.Filename)) {
		case ".csv":
			format = mimeCSV
		case ".xlsx":
			format = mimeXLSX
		default:
			return "", nil, "", problemAgencyMedia.with("the file must be CSV or XLSX")
		}
	}
	f, err := fh.Open()
	if err != nil {
		return "", nil, "", fmt.Errorf("agency verify: open form file: %w", err)
	}
	defer f.Close()
	// The server's BodyLimit already bounds the part; the limit here
	// keeps that true if the form is ever read another way.
	body, err = io.ReadAll(io.LimitReader(f, 1<<20+1))
	if err != nil {
		return "", nil, "", fmt.Errorf("agency verify: read form file: %w", err)
	}
	return format, body, purpose, nil
}

// agencyMaxBatch is how many rows a sheet may have for this caller: the
// batch limit when the policy grants batches for the purpose, else one.
// The full decision is taken later, once the rows are counted.
func (s *Server) agencyMaxBatch(pr token.Principal, purpose string) int {
	d, err := s.deps.Policy.Decide(policies.Request{
		Audience: policies.Audience(pr.Audience), Scope: policies.ScopeVerifyBatch,
		Granted: pr.Scopes.All(), Org: pr.Org, Purpose: purpose,
	})
	if err != nil || d.MaxBatch < 1 {
		return 1
	}
	return d.MaxBatch
}

// readSheet parses an uploaded CSV or XLSX; it reads no more than
// maxRows data rows (errTooManyRows past that). Problems name the row and
// the rule, never a cell's value.
func readSheet(format string, body []byte, maxRows int) (*sheet, error) {
	sh := &sheet{format: format}
	var next func() ([]string, error)
	switch format {
	case mimeCSV:
		if b, ok := bytes.CutPrefix(body, []byte("\uFEFF")); ok {
			body, sh.bom = b, true
		}
		if !utf8.Valid(body) {
			// Excel in a Chinese locale saves "CSV" in GB 18030 (GBK).
			dec, err := simplifiedchinese.GB18030.NewDecoder().Bytes(body)
			if err != nil || !utf8.Valid(dec) || bytes.ContainsRune(dec, utf8.RuneError) {
				return nil, invalid(map[string]string{"file": "not UTF-8 or GB 18030 text"})
			}
			body, sh.bom = dec, true
		}
		r := csv.NewReader(bytes.NewReader(body))
		r.FieldsPerRecord = -1
		next = func() ([]string, error) {
			row, err := r.Read()
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return nil, invalid(map[string]string{"file": fmt.Sprintf("line %d: %s", pe.Line, pe.Err)})
			}
			return row, err
		}
	case mimeXLSX:
		f, err := excelize.OpenReader(bytes.NewReader(body), excelize.Options{
			UnzipSizeLimit: sheetUnzipLimit,
			// Equal to the total, so no part is ever spilled to a
			// temporary file.
			UnzipXMLSizeLimit: sheetUnzipLimit,
			// Raw values: a number typed into a cell is read as written,
			// not through a display format such as 1E+15.
			RawCellValue: true,
		})
		if err != nil {
			return nil, invalid(map[string]string{"file": "not a readable XLSX workbook (or larger than allowed unpacked)"})
		}
		defer f.Close()
		list := f.GetSheetList()
		if len(list) == 0 {
			return nil, invalid(map[string]string{"file": "the workbook has no sheet"})
		}
		rows, err := f.Rows(list[0])
		if err != nil {
			return nil, invalid(map[string]string{"file": "the first sheet cannot be read"})
		}
		defer rows.Close()
		next = func() ([]string, error) {
			if !rows.Next() {
				if err := rows.Error(); err != nil {
					return nil, invalid(map[string]string{"file": "the first sheet cannot be read"})
				}
				return nil, io.EOF
			}
			row, err := rows.Columns()
			if err != nil {
				return nil, invalid(map[string]string{"file": "the first sheet cannot be read"})
			}
			return row, nil
		}
	default:
		return nil, problemAgencyMedia
	}
	if err := sh.read(next, maxRows); err != nil {
		return nil, err
	}
	return sh, nil
}

// read takes the header row and the data rows from next, skipping blank
// rows (spreadsheets keep empty rows below the data).
func (sh *sheet) read(next func() ([]string, error), maxRows int) error {
	header, err := next()
	if errors.Is(err, io.EOF) {
		return invalid(map[string]string{"file": "empty: want a header row, then one row per query"})
	}
	if err != nil {
		return err
	}
	if len(header) > maxSheetColumns {
		return invalid(map[string]string{"file": fmt.Sprintf("header: more than %d columns", maxSheetColumns)})
	}
	col := map[string]int{}
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(h))
		header[i] = h
		for _, q := range sheetQueryColumns {
			if h != q {
				continue
			}
			if _, dup := col[h]; dup {
				return invalid(map[string]string{"file": "header: column " + h + " given twice"})
			}
			col[h] = i
		}
	}
	_, hasCert := col["certificate_number"]
	_, hasID := col["id_number"]
	if _, ok := col["name"]; !ok || !hasCert && !hasID {
		return invalid(map[string]string{"file": "header: want certificate_number,name or id_type,id_number,name"})
	}
	sh.header = header
	cell := func(row []string, name string) string {
		if i, ok := col[name]; ok && i < len(row) {
			return row[i]
		}
		return ""
	}
	for line := 2; ; line++ {
		row, err := next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if len(row) > maxSheetColumns {
			return invalid(map[string]string{"file": fmt.Sprintf("row %d: more than %d columns", line, maxSheetColumns)})
		}
		if blank(row) {
			continue
		}
		if len(sh.rows) == maxRows {
			return errTooManyRows
		}
		padded := make([]string, len(header))
		copy(padded, row)
		sh.rows = append(sh.rows, padded)
		sh.queries = append(sh.queries, disclose.AgencyQuery{
			CertificateNumber: cell(row, "certificate_number"),
			IDType:            cell(row, "id_type"),
			IDNumber:          cell(row, "id_number"),
			Name:              cell(row, "name"),
		})
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

// answer writes the uploaded rows with the result columns appended, in
// the upload's format. An item answered by several records (a person
// found by ID with two degrees) takes one row per record.
func (sh *sheet) answer(ans disclose.AgencyAnswer) ([]byte, error) {
	head := append(append([]string(nil), sh.header...), "result", "status", "errors")
	for _, f := range ans.Fields {
		head = append(head, resultPrefix+f)
	}
	table := [][]string{head}
	for i, item := range ans.Results {
		line := func(status string, shown policies.Disclosure) {
			row := append(append(make([]string, 0, len(head)), sh.rows[i]...), item.Result, status, joinErrors(item.Errors))
			for _, f := range ans.Fields {
				row = append(row, shown[f])
			}
			table = append(table, row)
		}
		switch {
		case len(item.Degrees) > 0:
			for _, m := range item.Degrees {
				line(m.Status, m.Degree)
			}
		default:
			line(item.Status, item.Degree)
		}
	}
	if sh.format == mimeCSV {
		return writeCSV(table, sh.bom)
	}
	return writeXLSX(table)
}

// joinErrors is an item's errors as one cell: "field: why; field: why".
func joinErrors(errs map[string]string) string {
	if len(errs) == 0 {
		return ""
	}
	keys := make([]string, 0, len(errs))
	for k := range errs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + ": " + errs[k]
	}
	return strings.Join(parts, "; ")
}

func writeCSV(table [][]string, bom bool) ([]byte, error) {
	var buf bytes.Buffer
	if bom {
		buf.WriteString("\uFEFF")
	}
	w := csv.NewWriter(&buf)
	w.UseCRLF = true // what spreadsheet programs write
	for _, row := range table {
		for i, v := range row {
			row[i] = defuseFormula(v)
		}
		if err := w.Write(row); err != nil {
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

func writeXLSX(table [][]string) ([]byte, error) {
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
	for r, row := range table {
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
