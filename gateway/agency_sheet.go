package gateway

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"path"
	"slices"
	"sort"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/degreegate/degreegate/disclose"
	"github.com/degreegate/degreegate/gateway/sheet"
	"github.com/degreegate/degreegate/gateway/web"
	"github.com/degreegate/degreegate/policies"
)

// Many offices work in spreadsheets, so the agency route also takes a
// CSV file or an XLSX workbook — as the raw body or as the "file" part of
// a multipart form — and answers in the same format: the uploaded rows
// with result columns appended. The purpose comes as the query parameter
// or form field "purpose". The same limits, batch size, quota and audit
// apply as to JSON; a sheet is only another way to write the queries.

const (
	mimeCSV  = sheet.CSV
	mimeXLSX = sheet.XLSX

	// resultPrefix marks the columns the answer adds for disclosed
	// fields, so they never clash with the uploaded ones ("name").
	resultPrefix = "registry."
)

// The columns a sheet's header may name for the queries; any other
// column is the office's own, kept and echoed back.
var sheetQueryColumns = []string{"certificate_number", "id_type", "id_number", "name"}

// querySheet is an uploaded spreadsheet and the query each data row
// makes.
type querySheet struct {
	*sheet.Table
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
	if why := disclose.CheckText(purpose, 64); why != "" {
		return invalid(map[string]string{"purpose": why})
	}
	// Before anything is answered (and audited, and counted).
	lang, err := sheetLang(c)
	if err != nil {
		return err
	}
	dp := s.principalFor(c, purpose)
	maxRows := disclose.AgencyMaxBatch(dp)
	// The token pays for the read, rows or none.
	spent := disclose.AgencyUploadNeedsFreshToken(dp)
	if spent {
		if err := s.requireFreshJTI(c, principal(c)); err != nil {
			return err
		}
	}
	if format == mimeXLSX {
		select {
		case s.sheetReads <- struct{}{}:
		case <-c.UserContext().Done():
			return problemSheetsBusy
		}
	}
	sh, err := readQuerySheet(format, body, maxRows)
	if format == mimeXLSX {
		<-s.sheetReads
	}
	if errors.Is(err, sheet.ErrTooManyRows) {
		p := problemBatchTooLarge.with(fmt.Sprintf("at most %d rows per call", maxRows))
		p.PolicyVersion = s.deps.Policy.Version()
		return p
	}
	if err != nil {
		return err
	}
	ans, err := s.answerAgency(c, purpose, sh.queries, spent)
	if err != nil {
		return err
	}
	out, err := sh.answer(ans, lang)
	if err != nil {
		return fmt.Errorf("agency verify: write %s answer: %w", sh.Format, err)
	}
	name := "degreegate-results.xlsx"
	ct := mimeXLSX
	if sh.Format == mimeCSV {
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

// readQuerySheet parses an uploaded CSV or XLSX into queries; it reads
// no more than maxRows data rows (sheet.ErrTooManyRows past that). An
// unreadable upload is a Problem that names the row and the rule, never
// a cell's value.
func readQuerySheet(format string, body []byte, maxRows int) (*querySheet, error) {
	var col map[string]int
	t, err := sheet.Read(format, body, maxRows, func(header []string) (why string) {
		col, why = queryColumns(header)
		return why
	})
	var unreadable *sheet.Error
	switch {
	case errors.As(err, &unreadable):
		return nil, invalid(map[string]string{"file": unreadable.Reason})
	case errors.Is(err, sheet.ErrFormat):
		return nil, problemAgencyMedia
	case err != nil:
		return nil, err
	}
	cell := func(row []string, name string) string {
		if i, ok := col[name]; ok {
			return row[i]
		}
		return ""
	}
	sh := &querySheet{Table: t, queries: make([]disclose.AgencyQuery, len(t.Rows))}
	for i, row := range t.Rows {
		sh.queries[i] = disclose.AgencyQuery{
			CertificateNumber: cell(row, "certificate_number"),
			IDType:            cell(row, "id_type"),
			IDNumber:          cell(row, "id_number"),
			Name:              cell(row, "name"),
		}
	}
	return sh, nil
}

// queryColumns finds the query columns in a header (names trimmed and
// lower-cased), or says why the header cannot make queries.
func queryColumns(header []string) (col map[string]int, why string) {
	col = map[string]int{}
	for i, h := range header {
		if !slices.Contains(sheetQueryColumns, h) {
			continue
		}
		if _, dup := col[h]; dup {
			return nil, "header: column " + h + " given twice"
		}
		col[h] = i
	}
	_, hasCert := col["certificate_number"]
	_, hasID := col["id_number"]
	if _, ok := col["name"]; !ok || !hasCert && !hasID {
		return nil, "header: want certificate_number,name or id_type,id_number,name"
	}
	return col, ""
}

// answer writes the uploaded rows with the result columns appended, in
// the upload's format. An item answered by several records (a person
// found by ID with two degrees) takes one row per record.
func (sh *querySheet) answer(ans disclose.AgencyAnswer, lang web.Lang) ([]byte, error) {
	head := append(append([]string(nil), sh.Header...), "result", "status", "errors")
	for _, f := range ans.Fields {
		head = append(head, resultPrefix+f)
	}
	// value shows a cell as codes (the default: machines read these
	// files) or, asked for Chinese, with the labels an office reads.
	value := func(field, v string) string { return v }
	if lang == web.Chinese {
		head = append(append([]string(nil), sh.Header...), "查询结果", "学位状态", "错误")
		for _, f := range ans.Fields {
			head = append(head, web.FieldLabel(web.Chinese, f)+"（登记）")
		}
		value = func(field, v string) string { return web.ValueLabel(web.Chinese, field, v) }
	}
	table := [][]string{head}
	for i, item := range ans.Results {
		line := func(status string, shown policies.Disclosure) {
			row := append(append(make([]string, 0, len(head)), sh.Rows[i]...),
				sheetResultLabel(lang, item.Result), value("status", status), joinErrors(item.Errors))
			for _, f := range ans.Fields {
				row = append(row, value(f, shown[f]))
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
	if sh.Format == mimeCSV {
		return sheet.WriteCSV(table, sh.BOM)
	}
	return sheet.WriteXLSX(table)
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

// sheetLang is the language of a sheet's added columns: ?lang=zh or en,
// else Chinese when the request's Accept-Language prefers it, else codes
// and English headers — what a script that sends no language expects.
func sheetLang(c *fiber.Ctx) (web.Lang, error) {
	if q := c.Query("lang"); q != "" {
		l, ok := web.ParseLang(q)
		if !ok {
			return "", invalid(map[string]string{"lang": "zh or en"})
		}
		return l, nil
	}
	if al := c.Get(fiber.HeaderAcceptLanguage); al != "" && web.Negotiate("", al) == web.Chinese {
		return web.Chinese, nil
	}
	return web.English, nil
}

// sheetResultLabel names an item's result in a sheet.
func sheetResultLabel(lang web.Lang, result string) string {
	if lang != web.Chinese {
		return result
	}
	switch result {
	case disclose.ResultMatch:
		return "相符"
	case disclose.ResultNoMatch:
		return "不符"
	case disclose.ResultInvalid:
		return "查询有误"
	}
	return result
}
