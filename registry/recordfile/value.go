package recordfile

import (
	"strconv"
	"strings"

	"github.com/degreegate/degreegate/registry"
)

// byName finds a field by its contract name; built once, never changed.
var byName = fieldIndex()

// Value returns one field of r by its contract name, written as an import
// file writes it ("2019-06-30", "true", keywords joined by ";"). ok is
// false for an unknown name or an empty value. It is how a policy's field
// rules read a record.
func Value(r *registry.Record, name string) (value string, ok bool) {
	i, known := byName[name]
	if !known {
		return "", false
	}
	f := &fields[i]
	switch f.Kind {
	case registry.FieldText:
		value = f.Text(r)
	case registry.FieldDate:
		value = f.Date(r).String()
	case registry.FieldMonth:
		value = f.Month(r).String()
	case registry.FieldInt:
		if n := *f.Int(r); n != 0 {
			value = strconv.Itoa(n)
		}
	case registry.FieldBool:
		value = strconv.FormatBool(*f.Bool(r))
	case registry.FieldList:
		value = strings.Join(*f.List(r), ";")
	}
	return value, value != ""
}
