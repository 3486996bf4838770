package gateway

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/pb33f/libopenapi"
	"github.com/pb33f/libopenapi-validator/config"
	"github.com/pb33f/libopenapi-validator/schema_validation"
	v3 "github.com/pb33f/libopenapi/datamodel/high/v3"
)

// TestOpenAPIExamplesMatchTheirSchemas: the document shows what to send
// and what comes back. Every JSON request body, every 2xx JSON answer
// and every problem+json answer carries an example (example, or named
// examples), and every example of any body, required or not, conforms to
// the schema beside it, $refs resolved — so an example cannot drift from
// the schema it illustrates, and a problem example names a problem type
// the Problem schema lists. Shared responses (components/responses) are
// checked through each operation that refers to them.
func TestOpenAPIExamplesMatchTheirSchemas(t *testing.T) {
	b, err := buildOpenAPI()
	if err != nil {
		t.Fatal(err)
	}
	doc, err := libopenapi.NewDocument(b)
	if err != nil {
		t.Fatal(err)
	}
	model, err := doc.BuildV3Model()
	if err != nil {
		t.Fatalf("openapi.json does not build: %v", err)
	}
	// Formats are asserted: an example's date-time is one.
	sv := schema_validation.NewSchemaValidator(config.WithFormatAssertions())
	const problemJSON = "application/problem+json"
	checked := map[string]bool{} // each example once, however many operations share it
	// The problem types the document lists (describeProblems), as it
	// writes them: a problem example names one of them.
	documented := map[string]bool{}
	if p, ok := model.Model.Components.Schemas.Get("Problem"); ok && p.Schema() != nil {
		if typ, ok := p.Schema().Properties.Get("type"); ok && typ.Schema() != nil {
			for _, n := range typ.Schema().Examples {
				var s string
				if n.Decode(&s) == nil {
					documented[s] = true
				}
			}
		}
	}
	if len(documented) == 0 {
		t.Fatal("the Problem schema lists no problem types")
	}

	// check validates the examples of one body; where names it in failures.
	check := func(where, mediaType string, m *v3.MediaType, required bool) {
		examples := map[string]any{}
		if m.Example != nil {
			var v any
			if err := m.Example.Decode(&v); err != nil {
				t.Errorf("%s %s: example: %v", where, mediaType, err)
			}
			examples["example"] = v
		}
		if m.Examples != nil && m.Examples.Len() > 0 {
			if m.Example != nil {
				t.Errorf("%s %s: example and examples are mutually exclusive", where, mediaType)
			}
			for name, e := range m.Examples.FromOldest() {
				if e.Value == nil {
					t.Errorf("%s %s: examples.%s has no value", where, mediaType, name)
					continue
				}
				var v any
				if err := e.Value.Decode(&v); err != nil {
					t.Errorf("%s %s: examples.%s: %v", where, mediaType, name, err)
				}
				examples["examples."+name] = v
			}
		}
		if len(examples) == 0 {
			if required {
				t.Errorf("%s %s has no example", where, mediaType)
			}
			return
		}
		if m.Schema == nil || m.Schema.Schema() == nil {
			t.Errorf("%s %s: examples without a schema to hold them to", where, mediaType)
			return
		}
		schema := m.Schema.Schema()
		names := make([]string, 0, len(examples))
		for name := range examples {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			// The JSON the example stands for, as a client would send or
			// receive it: numbers, strings and objects as encoding/json reads them.
			raw, err := json.Marshal(examples[name])
			if err != nil {
				t.Errorf("%s %s %s: not JSON: %v", where, mediaType, name, err)
				continue
			}
			key := mediaType + " " + name + " " + string(raw)
			if checked[key] {
				continue
			}
			checked[key] = true
			if mediaType == problemJSON {
				if p, _ := examples[name].(map[string]any); p == nil || !documented[fmt.Sprint(p["type"])] {
					t.Errorf("%s %s %s: type %v is not one the Problem schema lists", where, mediaType, name, p["type"])
				}
			}
			if ok, errs := sv.ValidateSchemaBytes(schema, raw); !ok {
				for _, e := range errs {
					reasons := []string{e.Reason}
					for _, se := range e.SchemaValidationErrors {
						reasons = append(reasons, se.FieldPath+": "+se.Reason)
					}
					t.Errorf("%s %s %s does not match its schema: %s", where, mediaType, name, strings.Join(reasons, "; "))
				}
			}
		}
	}

	for path, item := range model.Model.Paths.PathItems.FromOldest() {
		for method, op := range item.GetOperations().FromOldest() {
			where := strings.ToUpper(method) + " " + path
			if op.RequestBody != nil && op.RequestBody.Content != nil {
				for mt, m := range op.RequestBody.Content.FromOldest() {
					check(where+" request", mt, m, mt == "application/json")
				}
			}
			if op.Responses == nil || op.Responses.Codes == nil {
				continue
			}
			for code, r := range op.Responses.Codes.FromOldest() {
				if r.Content == nil {
					continue
				}
				for mt, m := range r.Content.FromOldest() {
					// A JSON answer shows what a success looks like;
					// a problem, whatever its status, which one it is.
					required := strings.HasPrefix(code, "2") && mt == "application/json" || mt == problemJSON
					check(where+" → "+code, mt, m, required)
				}
			}
		}
	}
	// The document holds some sixty distinct examples: far fewer means
	// the walk missed them, and proves nothing.
	t.Logf("%d distinct examples checked", len(checked))
	if len(checked) < 40 {
		t.Fatalf("only %d examples checked: the walk proves nothing", len(checked))
	}
}
