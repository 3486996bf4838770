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

// Apply masks one record for the caller. It reads only the decision's
// fields, drops empty ones, and drops every NeverIfClassified field unless
// the record's ClassifiedFlag reads exactly "false" (Art. 25: a missing or
// odd flag counts as classified). It fails only when a MaskKeyedHash field
// has no usable key, which is a configuration error.
func (d Decision) Apply(src FieldSource, opts ApplyOptions) (Disclosure, error) {
	out := make(Disclosure, len(d.fields))
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
			return nil, err
		}
		if masked != "" {
			out[f.Field] = masked
		}
	}
	return out, nil
}
