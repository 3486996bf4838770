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
	switch f.kind {
	case kindText:
		value = f.getText(r)
	case kindDate:
		value = f.date(r).String()
	case kindMonth:
		value = f.month(r).String()
	case kindInt:
		if n := *f.num(r); n != 0 {
			value = strconv.Itoa(n)
		}
	case kindBool:
		value = strconv.FormatBool(*f.flag(r))
	case kindKeywords:
		value = strings.Join(*f.list(r), ";")
	}
	return value, value != ""
}
