package policies

import (
	"maps"
	"slices"
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
			dst = append(dst, Shown{Field: f.Field, Value: masked})
		}
	}
	return dst, nil
}
