package policies

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// FieldSource reads one field of a record by its contract name, as the
// string DESIGN.md's import files use ("2019-06-30", "true", keywords
// joined by ";"). ok is false when the record has no such field or it is
// empty.
type FieldSource func(name string) (value string, ok bool)

// MapSource reads fields from a map.
func MapSource(m map[string]string) FieldSource {
	return func(name string) (string, bool) {
		v, ok := m[name]
		return v, ok
	}
}

// Disclosure is what one record shows a caller: field name → masked value.
// Fields with nothing to show are absent.
type Disclosure map[string]string

// Fields lists the disclosed field names, sorted: what the audit entry
// records as "which fields were disclosed".
func (d Disclosure) Fields() []string {
	return slices.Sorted(maps.Keys(d))
}

// Shown is one disclosed field and its masked value.
type Shown struct {
	Field string
	Value string
	Kind  FieldKind // the field's (JSON writes numbers and flags as such)
}

// Apply masks one record for the caller. It reads only the decision's
// fields, drops empty ones, and drops every NeverIfClassified field unless
// the record's ClassifiedFlag reads exactly "false" (Art. 25: a missing or
// odd flag counts as classified). It fails only when a MaskKeyedHash field
// has no usable key, which is a configuration error.
func (d Decision) Apply(src FieldSource, opts ApplyOptions) (Disclosure, error) {
	var buf [24]Shown
	shown, err := d.AppendApplied(buf[:0], src, opts)
	if err != nil {
		return nil, err
	}
	return DisclosureOf(shown), nil
}

// DisclosureOf is the Disclosure holding the fields of shown.
func DisclosureOf(shown []Shown) Disclosure {
	out := make(Disclosure, len(shown))
	for _, f := range shown {
		out[f.Field] = f.Value
	}
	return out
}

// AppendApplied is Apply as a list, appended to dst in field-name order
// (the order of Fields, and of a Disclosure encoded as JSON): for callers
// that encode the fields at once, with no map to build and sort again.
func (d Decision) AppendApplied(dst []Shown, src FieldSource, opts ApplyOptions) ([]Shown, error) {
	classified, checked := true, false
	for _, f := range d.fields {
		if f.NeverIfClassified {
			if !checked {
				v, ok := src(ClassifiedFlag)
				classified, checked = !ok || v != "false", true
			}
			if classified {
				continue
			}
		}
		v, ok := src(f.Field)
		if !ok || v == "" {
			continue
		}
		masked, err := f.Mask.Apply(v, opts)
		if err != nil {
			return dst, err
		}
		if masked != "" {
			dst = append(dst, Shown{Field: f.Field, Value: masked, Kind: f.Kind})
		}
	}
	return dst, nil
}

// JSONLiteral is the JSON number or boolean that a disclosed value of a
// field of kind k stands for, or "" when the value is to be a JSON
// string: answers give numbers as numbers and flags as booleans, as long
// as the value (after its mask) still has that form — a generalised
// number such as "3-5" stays a string.
func JSONLiteral(k FieldKind, value string) string {
	switch k {
	case KindNumber:
		if isInteger(value) {
			return value
		}
	case KindFlag:
		if value == "true" || value == "false" {
			return value
		}
	}
	return ""
}

func isInteger(s string) bool {
	digits := strings.TrimPrefix(s, "-")
	if digits == "" || len(digits) > 15 || (len(digits) > 1 && digits[0] == '0') {
		return false
	}
	for _, c := range digits {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// MarshalJSON writes the disclosure as a JSON object, keys sorted, with
// numbers and flags as JSON numbers and booleans (JSONLiteral).
func (d Disclosure) MarshalJSON() ([]byte, error) {
	b := []byte{'{'}
	for i, k := range d.Fields() {
		if i > 0 {
			b = append(b, ',')
		}
		key, err := json.Marshal(k)
		if err != nil {
			return nil, err
		}
		b = append(append(b, key...), ':')
		f, _ := LookupField(k)
		if lit := JSONLiteral(f.Kind, d[k]); lit != "" {
			b = append(b, lit...)
			continue
		}
		v, err := json.Marshal(d[k])
		if err != nil {
			return nil, err
		}
		b = append(b, v...)
	}
	return append(b, '}'), nil
}

// UnmarshalJSON reads what MarshalJSON writes: numbers and booleans come
// back as the strings they stand for.
func (d *Disclosure) UnmarshalJSON(b []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	out := make(Disclosure, len(raw))
	for k, v := range raw {
		var s string
		switch {
		case json.Unmarshal(v, &s) == nil:
		case string(v) == "true" || string(v) == "false" || isInteger(string(v)):
			s = string(v)
		default:
			return fmt.Errorf("disclosure: field %q is neither a string, an integer nor a boolean", k)
		}
		out[k] = s
	}
	*d = out
	return nil
}
