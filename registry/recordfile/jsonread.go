package recordfile

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/degreegate/degreegate/registry"
)

func (r *Reader) nextJSONL() (Row, error) {
	for {
		l, err := r.lines.next()
		if errors.Is(err, io.EOF) {
			if r.records == 0 {
				return r.fail(&FileError{Line: 1, Err: fmt.Errorf("%w: want one JSON object per line", ErrEmpty)})
			}
			return r.fail(io.EOF)
		}
		if err != nil {
			return r.fail(&FileError{Line: r.lines.num + 1, Err: fmt.Errorf("read: %w", err)})
		}
		row := Row{Line: r.lines.num}
		switch {
		case l.tooLong:
			row.Problems = []registry.Violation{lineTooLong(row.Line, 1, r.opt.MaxLineBytes)}
		case len(bytes.TrimSpace(l.text)) == 0:
			continue
		case !utf8.Valid(l.text):
			row.Problems = []registry.Violation{notUTF8("", row.Line)}
		default:
			row.Problems = r.decodeJSON(l.text, &row.Record)
		}
		r.records++
		return row, nil
	}
}

// decodeJSON reads one line holding one JSON object into rec.
//
// encoding/json checks the syntax (json.Valid) and unescapes strings that
// hold escapes; the walk over the checked object is done here because
// decoding into Record would match keys in any letter case, let a key occur
// twice, stop at the first wrong type, and cost some 400 allocations a
// line (BenchmarkReadJSONL). Text values without escapes are slices of one
// string per line.
func (r *Reader) decodeJSON(line []byte, rec *registry.Record) []registry.Violation {
	if !json.Valid(line) {
		return []registry.Violation{malformedJSON(line)}
	}
	w := jsonWalk{s: string(line)}
	w.space()
	if w.peek() != '{' {
		return []registry.Violation{problem("", ProblemBadJSON, "want a JSON object {...} on each line")}
	}
	w.i++
	var problems []registry.Violation
	seen := r.seen
	clear(seen)
	for w.space(); w.peek() == '"'; w.space() {
		key := w.text(w.value())
		w.space()
		w.i++ // ':'
		w.space()
		raw := w.value()
		fi, known := r.byName[key]
		switch {
		case !known:
			desc, shown := unknownName(key, r.byName)
			problems = append(problems, problem(shown, ProblemUnknownField, desc))
		case seen[fi]:
			problems = append(problems, problem(key, ProblemDuplicateField, "given more than once in this object"))
		default:
			seen[fi] = true
			if v, ok := setJSON(&fields[fi], rec, &w, raw); !ok {
				problems = append(problems, v)
			}
		}
		w.space()
		if w.peek() == ',' {
			w.i++
		}
	}
	return problems
}

// malformedJSON explains why line is not valid JSON, by byte offset only.
func malformedJSON(line []byte) registry.Violation {
	err := json.Unmarshal(line, new(json.RawMessage))
	var se *json.SyntaxError
	switch {
	case errors.As(err, &se) && se.Offset >= int64(len(line)):
		return problem("", ProblemBadJSON, "JSON object ends early (truncated line?)")
	case errors.As(err, &se):
		return problem("", ProblemBadJSON, fmt.Sprintf("malformed JSON at byte %d", se.Offset))
	}
	return problem("", ProblemBadJSON, "malformed JSON")
}

// setJSON stores the JSON value raw of field f in rec. null means "not
// given", as an empty CSV cell does.
func setJSON(f *registry.Field, rec *registry.Record, w *jsonWalk, raw string) (registry.Violation, bool) {
	if raw == "null" {
		return registry.Violation{}, true
	}
	switch f.Kind {
	case registry.FieldText, registry.FieldDate, registry.FieldMonth:
		if raw[0] != '"' {
			want := "want a string"
			switch f.Kind {
			case registry.FieldDate:
				want = `want a string "YYYY-MM-DD"`
			case registry.FieldMonth:
				want = `want a string "YYYY-MM"`
			}
			return problem(f.Name, ProblemWrongType, want), false
		}
		return setCell(f, rec, w.text(raw))
	case registry.FieldInt:
		if c := raw[0]; c != '-' && (c < '0' || c > '9') {
			return problem(f.Name, ProblemWrongType, "want a number"), false
		}
		n, err := strconv.Atoi(raw)
		if err != nil {
			return problem(f.Name, ProblemBadInteger, "want a whole number such as 4"), false
		}
		*f.Int(rec) = n
	case registry.FieldBool:
		switch raw {
		case "true":
			*f.Bool(rec) = true
		case "false":
			*f.Bool(rec) = false
		default:
			return problem(f.Name, ProblemWrongType, "want true or false"), false
		}
	case registry.FieldList:
		kws, ok := w.strings(raw)
		if !ok {
			return problem(f.Name, ProblemWrongType, "want an array of strings"), false
		}
		*f.List(rec) = kws
	}
	return registry.Violation{}, true
}

// jsonWalk steps through JSON text that json.Valid has accepted, so it
// need not check syntax; it only finds where each value ends.
type jsonWalk struct {
	s string
	i int
}

func (w *jsonWalk) peek() byte {
	if w.i < len(w.s) {
		return w.s[w.i]
	}
	return 0
}

func (w *jsonWalk) space() {
	for w.i < len(w.s) {
		switch w.s[w.i] {
		case ' ', '\t', '\n', '\r':
			w.i++
		default:
			return
		}
	}
}

// value returns the raw text of the value at w.i and moves past it.
func (w *jsonWalk) value() string {
	start := w.i
	switch w.peek() {
	case '"':
		w.i = stringEnd(w.s, w.i)
	case '{', '[':
		depth := 0
		for w.i < len(w.s) {
			switch w.s[w.i] {
			case '"':
				w.i = stringEnd(w.s, w.i)
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
			}
			w.i++
			if depth == 0 {
				break
			}
		}
	default: // number, true, false, null
		for w.i < len(w.s) && !strings.ContainsRune(",}] \t\r\n", rune(w.s[w.i])) {
			w.i++
		}
	}
	return w.s[start:w.i]
}

// stringEnd returns the index just past the string that starts at s[i].
func stringEnd(s string, i int) int {
	for i++; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return len(s)
}

// text returns the value of the raw JSON string raw.
func (w *jsonWalk) text(raw string) string {
	inner := raw[1 : len(raw)-1]
	if strings.IndexByte(inner, '\\') < 0 {
		return inner
	}
	var s string
	_ = json.Unmarshal([]byte(raw), &s) // cannot fail: the syntax is checked
	return s
}

// strings reads a raw JSON array of strings; false if raw is anything else.
// An empty array is nil, as no keywords are.
func (w *jsonWalk) strings(raw string) ([]string, bool) {
	if raw[0] != '[' {
		return nil, false
	}
	sub := jsonWalk{s: raw, i: 1}
	var out []string
	for sub.space(); sub.peek() != ']'; sub.space() {
		v := sub.value()
		if v[0] != '"' {
			return nil, false
		}
		out = append(out, sub.text(v))
		sub.space()
		if sub.peek() == ',' {
			sub.i++
		}
	}
	return out, true
}
