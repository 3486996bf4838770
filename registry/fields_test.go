package registry

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

// setDistinct sets field f of r to a value that differs for every i and
// from the zero value.
func setDistinct(f *Field, r *Record, i int) {
	switch f.Kind {
	case FieldText:
		f.SetText(r, "值 "+f.Name)
	case FieldDate:
		*f.Date(r) = NewDate(1900+i, time.Month(1+i%12), 1+i%28)
	case FieldMonth:
		*f.Month(r) = NewMonth(1900+i, time.Month(1+i%12))
	case FieldInt:
		*f.Int(r) = 1000 + i
	case FieldBool:
		*f.Bool(r) = true
	case FieldList:
		*f.List(r) = []string{"kw", f.Name}
	}
}

// TestFieldsReachRecord: each entry's accessors reach exactly the Record
// field whose JSON name is the entry's name, and every Record field has
// one entry — so a field added to Record fails here until it is in the
// table, and every list derived from or tested against the table follows.
func TestFieldsReachRecord(t *testing.T) {
	rt := reflect.TypeFor[Record]()
	byTag := map[string]int{}
	for i := range rt.NumField() {
		tag, _, _ := strings.Cut(rt.Field(i).Tag.Get("json"), ",")
		byTag[tag] = i
	}
	seen := map[string]bool{}
	for i, f := range Fields() {
		if seen[f.Name] {
			t.Errorf("%s twice", f.Name)
		}
		seen[f.Name] = true
		set := map[FieldKind]bool{
			FieldText: f.Text != nil && f.SetText != nil, FieldDate: f.Date != nil, FieldMonth: f.Month != nil,
			FieldInt: f.Int != nil, FieldBool: f.Bool != nil, FieldList: f.List != nil,
		}
		for k, isSet := range set {
			if isSet != (k == f.Kind) {
				t.Errorf("%s: kind %d, yet the accessor of kind %d is set: %v", f.Name, f.Kind, k, isSet)
			}
		}
		if t.Failed() {
			continue
		}
		var r Record
		setDistinct(&f, &r, i)
		rv := reflect.ValueOf(r)
		var changed []string
		for j := range rt.NumField() {
			if !rv.Field(j).IsZero() {
				changed = append(changed, rt.Field(j).Name)
			}
		}
		if j, ok := byTag[f.Name]; !ok || len(changed) != 1 || changed[0] != rt.Field(j).Name {
			t.Errorf("%s sets %v", f.Name, changed)
		}
		if f.Kind == FieldText && f.Text(&r) != "值 "+f.Name {
			t.Errorf("%s: Text does not read what SetText wrote", f.Name)
		}
	}
	for tag := range byTag {
		if !seen[tag] {
			t.Errorf("Record field %s is not in Fields", tag)
		}
	}
}

// TestSecretFieldsAreWhatSealEncrypts: Secret marks exactly the fields
// that a sealed record holds only inside its ciphertext.
func TestSecretFieldsAreWhatSealEncrypts(t *testing.T) {
	k, err := NewRandomKeyring()
	if err != nil {
		t.Fatal(err)
	}
	var r Record
	fields := Fields()
	for i := range fields {
		setDistinct(&fields[i], &r, i)
	}
	s, err := k.Seal(r)
	if err != nil {
		t.Fatal(err)
	}
	opened, err := k.Open(s)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fields {
		cleared := reflect.ValueOf(valueOf(&f, &s.Record)).IsZero()
		if cleared != f.Secret {
			t.Errorf("%s: Secret is %v, yet Seal clears it: %v", f.Name, f.Secret, cleared)
		}
		if !reflect.DeepEqual(valueOf(&f, &opened), valueOf(&f, &r)) {
			t.Errorf("%s does not survive Seal and Open", f.Name)
		}
	}
}

func valueOf(f *Field, r *Record) any {
	switch f.Kind {
	case FieldText:
		return f.Text(r)
	case FieldDate:
		return *f.Date(r)
	case FieldMonth:
		return *f.Month(r)
	case FieldInt:
		return *f.Int(r)
	case FieldBool:
		return *f.Bool(r)
	case FieldList:
		return *f.List(r)
	}
	return nil
}
