package policies

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// The field list must match the record's JSON names. policies may not
// import registry, so the test reads registry/record.go as source.
func TestFieldsMatchRecord(t *testing.T) {
	src, err := os.ReadFile("../registry/record.go")
	if err != nil {
		t.Skipf("registry source not beside this package: %v", err)
	}
	file, err := parser.ParseFile(token.NewFileSet(), "record.go", src, 0)
	if err != nil {
		t.Skipf("registry/record.go does not parse right now: %v", err)
	}
	var tags []string
	ast.Inspect(file, func(n ast.Node) bool {
		ts, ok := n.(*ast.TypeSpec)
		if !ok || ts.Name.Name != "Record" {
			return true
		}
		for _, f := range ts.Type.(*ast.StructType).Fields.List {
			if f.Tag == nil {
				continue
			}
			tag, _ := strconv.Unquote(f.Tag.Value)
			name, _, _ := strings.Cut(reflect.StructTag(tag).Get("json"), ",")
			if name != "" && name != "-" {
				tags = append(tags, name)
			}
		}
		return false
	})
	var names []string
	for _, f := range Fields() {
		names = append(names, f.Name)
	}
	slices.Sort(tags)
	slices.Sort(names)
	if !slices.Equal(tags, names) {
		t.Errorf("registry.Record has %v\npolicies.Fields has %v", tags, names)
	}
}

func TestCatalogues(t *testing.T) {
	seen := map[string]bool{}
	for _, f := range Fields() {
		if seen[f.Name] {
			t.Errorf("field %s twice", f.Name)
		}
		seen[f.Name] = true
		if g, ok := LookupField(f.Name); !ok || g != f {
			t.Errorf("LookupField(%s) = %+v", f.Name, g)
		}
		if strings.HasPrefix(f.Name, "thesis_") != (f.NeverIfClassified || f.Name == ClassifiedFlag) {
			t.Errorf("%s: NeverIfClassified %v", f.Name, f.NeverIfClassified)
		}
	}
	for _, s := range Scopes() {
		if !s.Known() || len(s.Audiences()) == 0 || s.Summary() == "" {
			t.Errorf("scope %s incomplete", s)
		}
	}
	for _, m := range Masks() {
		if !m.Known() {
			t.Errorf("mask %s unknown", m)
		}
	}
	if Scope("x").Known() || Mask("x").Known() {
		t.Error("unknown names known")
	}
}
