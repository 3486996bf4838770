package recordfile

import "github.com/degreegate/degreegate/registry"

// fields are the record's fields in registry.Fields order, which is the
// CSV column order. Read-only after init.
var fields = registry.Fields()

// Columns is the CSV header: every record field's snake_case name in
// DESIGN.md order. The slice is the caller's to keep.
func Columns() []string {
	out := make([]string, len(fields))
	for i := range fields {
		out[i] = fields[i].Name
	}
	return out
}

// fieldIndex maps each field name to its index in fields.
func fieldIndex() map[string]int {
	m := make(map[string]int, len(fields))
	for i := range fields {
		m[fields[i].Name] = i
	}
	return m
}
