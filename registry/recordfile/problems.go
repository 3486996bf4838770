package recordfile

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/degreegate/degreegate/registry"
)

// Row-level problem codes, the Code of a registry.Violation in Row.Problems.
// They are stable: scripts and reports match on them.
const (
	ProblemNotUTF8        = "not_utf8"        // bytes that are not UTF-8 (often a GBK-encoded file)
	ProblemLineTooLong    = "line_too_long"   // a physical line longer than Options.MaxLineBytes; skipped
	ProblemFieldCount     = "field_count"     // CSV row with more or fewer cells than the header
	ProblemBadQuote       = "bad_quote"       // CSV quoting that RFC 4180 does not allow
	ProblemBadDate        = "bad_date"        // not YYYY-MM-DD, or a day that does not exist
	ProblemBadMonth       = "bad_month"       // not YYYY-MM
	ProblemBadInteger     = "bad_integer"     // not a whole decimal number
	ProblemBadBoolean     = "bad_boolean"     // not true or false
	ProblemBadJSON        = "bad_json"        // a line that is not one well-formed JSON object
	ProblemUnknownField   = "unknown_field"   // a JSON key that is no record field
	ProblemDuplicateField = "duplicate_field" // a JSON key given twice in one object
	ProblemWrongType      = "wrong_type"      // a JSON value of the wrong type for its field
)

// File-level errors, wrapped in a *FileError; test with errors.Is.
var (
	// ErrEmpty: the file holds no header (CSV) or no record (JSONL).
	ErrEmpty = errors.New("empty file")
	// ErrHeader: the CSV header is unreadable, or names a column that is
	// unknown, empty or given twice.
	ErrHeader = errors.New("bad CSV header")
	// ErrUnterminatedQuote: a quoted CSV field is never closed, so it
	// swallows the rest of the file (or more than Options.MaxRecordBytes).
	ErrUnterminatedQuote = errors.New("unterminated quoted field")
	// ErrTooLarge: more than Options.MaxRecordBytes of input without a record.
	ErrTooLarge = errors.New("too much input without a record")
	// ErrNotUTF8: the whole file is in an encoding other than UTF-8 (it
	// starts with a UTF-16 byte order mark). Single lines that are not
	// UTF-8 are row problems (ProblemNotUTF8) instead.
	ErrNotUTF8 = errors.New("file is not UTF-8")
)

// FileError is a problem with the file as a whole: reading stops. Line is
// where the problem was found (1-based); Err wraps one of the errors above
// or the underlying I/O error.
type FileError struct {
	Line int
	Err  error
}

func (e *FileError) Error() string { return fmt.Sprintf("line %d: %v", e.Line, e.Err) }
func (e *FileError) Unwrap() error { return e.Err }

func problem(fieldName, code, msg string) registry.Violation {
	return registry.Violation{Field: fieldName, Code: code, Message: msg}
}

func notUTF8(fieldName string, line int) registry.Violation {
	return problem(fieldName, ProblemNotUTF8,
		fmt.Sprintf("not UTF-8 at line %d (is the file GBK-encoded? save it as UTF-8)", line))
}

func lineTooLong(line, count, limit int) registry.Violation {
	if count > 1 {
		return problem("", ProblemLineTooLong,
			fmt.Sprintf("record from line %d holds %d lines longer than %d bytes; skipped", line, count, limit))
	}
	return problem("", ProblemLineTooLong, fmt.Sprintf("line %d is longer than %d bytes; skipped", line, limit))
}

// setCell stores the text s of field f in rec. It is the one place where
// text from a file becomes a typed value, for CSV and for JSON strings
// (dates and months). Messages describe the expected form, never s.
func setCell(f *registry.Field, rec *registry.Record, s string) (registry.Violation, bool) {
	switch f.Kind {
	case registry.FieldText:
		f.SetText(rec, s)
	case registry.FieldDate:
		if s == "" {
			*f.Date(rec) = registry.Date{}
			break
		}
		d, err := registry.ParseDate(s)
		if err != nil {
			return problem(f.Name, ProblemBadDate, "want a date YYYY-MM-DD that exists"), false
		}
		*f.Date(rec) = d
	case registry.FieldMonth:
		if s == "" {
			*f.Month(rec) = registry.Month{}
			break
		}
		m, err := registry.ParseMonth(s)
		if err != nil {
			return problem(f.Name, ProblemBadMonth, "want a month YYYY-MM"), false
		}
		*f.Month(rec) = m
	case registry.FieldInt:
		if s == "" {
			*f.Int(rec) = 0
			break
		}
		n, err := strconv.Atoi(s)
		if err != nil {
			return problem(f.Name, ProblemBadInteger, "want a whole number such as 4"), false
		}
		*f.Int(rec) = n
	case registry.FieldBool:
		// Only true/false, in any letter case (spreadsheets write TRUE):
		// the flag guards Art. 25, so 1/0, yes/no and the like are refused
		// rather than guessed.
		switch {
		case s == "":
			*f.Bool(rec) = false
		case strings.EqualFold(s, "true"):
			*f.Bool(rec) = true
		case strings.EqualFold(s, "false"):
			*f.Bool(rec) = false
		default:
			return problem(f.Name, ProblemBadBoolean, "want true or false"), false
		}
	case registry.FieldList:
		*f.List(rec) = splitKeywords(s)
	}
	return registry.Violation{}, true
}

// splitKeywords reads the CSV form of thesis_keywords: ";"-separated, each
// keyword trimmed of surrounding spaces, empty ones dropped (so "a; b;" is
// [a b]). The Writer refuses keywords this would change.
func splitKeywords(s string) []string {
	if strings.TrimSpace(s) == "" {
		return nil
	}
	out := make([]string, 0, strings.Count(s, ";")+1)
	for kw := range strings.SplitSeq(s, ";") {
		if kw = strings.TrimSpace(kw); kw != "" {
			out = append(out, kw)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// invalidUTF8At returns the byte offset of the first invalid UTF-8 sequence
// in s, or -1.
func invalidUTF8At(s string) int {
	if utf8.ValidString(s) {
		return -1
	}
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			return i
		}
		i += n
	}
	return -1
}

// nameLike reports whether s looks like a field name written to the
// contract (lower-case snake_case), so that it may be quoted in a message.
// Anything else stays unquoted: a header row that is really a data row
// (header forgotten) must not have its cells, personal data, echoed.
func nameLike(s string) bool {
	if len(s) == 0 || len(s) > 64 || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// unknownName describes an unknown column or key for a message, and
// returns the name to put in Violation.Field ("" when it is not shown).
func unknownName(s string, byName map[string]int) (desc, shown string) {
	if fold := strings.ToLower(strings.TrimSpace(s)); fold != s {
		if _, ok := byName[fold]; ok {
			// A known name in another case or with spaces: safe to show.
			return fmt.Sprintf("%q is not a record field; field names are lower-case without spaces: %q", s, fold), s
		}
	}
	if !nameLike(s) {
		return "a name that is not a record field (not shown, as it may be personal data; is the header row missing?)", ""
	}
	return fmt.Sprintf("%q is not a record field", s), s
}
