package gateway

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
)

// TestOpenAPIMatchesRoutes keeps openapi.json and routes.go in step: every
// registered route is documented with its method, and nothing else is.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	f := newFixture(t, 1, fixtureOptions{})
	doc, err := libopenapi.NewDocument(f.srv.openAPI)
	if err != nil {
		t.Fatal(err)
	}
	model, err := doc.BuildV3Model()
	if err != nil {
		t.Fatalf("openapi.json does not build: %v", err)
	}
	documented := map[string]bool{}
	for path, item := range model.Model.Paths.PathItems.FromOldest() {
		for method := range item.GetOperations().FromOldest() {
			documented[strings.ToUpper(method)+" "+fiberPath(path)] = true
		}
	}
	registered := map[string]bool{}
	for _, r := range f.srv.App().GetRoutes(true) {
		if r.Method == "HEAD" || r.Path == "/" && r.Method == "USE" || r.Method == "USE" {
			continue
		}
		registered[r.Method+" "+r.Path] = true
	}
	var missing, extra []string
	for k := range registered {
		if !documented[k] {
			missing = append(missing, k)
		}
	}
	for k := range documented {
		if !registered[k] {
			extra = append(extra, k)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	if len(missing) > 0 || len(extra) > 0 {
		t.Fatalf("routes not in openapi.json: %v; documented but not routed: %v", missing, extra)
	}
	if len(registered) < 5 {
		t.Fatalf("only %d routes seen: the comparison proves nothing", len(registered))
	}
}

// fiberPath turns /v1/verify/{code} into /v1/verify/:code.
func fiberPath(p string) string {
	parts := strings.Split(p, "/")
	for i, s := range parts {
		if strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}") {
			parts[i] = ":" + s[1:len(s)-1]
		}
	}
	return strings.Join(parts, "/")
}

func TestOpenAPIIsValidAndDescribesAnswers(t *testing.T) {
	f := newFixture(t, 5, fixtureOptions{})
	doc, err := libopenapi.NewDocument(f.srv.openAPI)
	if err != nil {
		t.Fatal(err)
	}
	v, errs := validator.NewValidator(doc)
	if len(errs) > 0 {
		t.Fatalf("validator: %v", errs)
	}
	if ok, verrs := v.ValidateDocument(); !ok {
		for _, e := range verrs {
			t.Errorf("openapi.json: %s: %s", e.Message, e.Reason)
		}
	}
	// Real answers conform to the document.
	r := f.records[0]
	for _, body := range []string{verifyBody(r.CertificateNumber, r.Name), verifyBody(r.CertificateNumber, "某人"), `{"x":1}`} {
		req := httptest.NewRequest("POST", "http://localhost/v1/verify", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		resp := f.do(t, "POST", "/v1/verify", "application/json", body)
		if ok, verrs := v.ValidateHttpResponse(req, resp); !ok {
			for _, e := range verrs {
				t.Errorf("answer to %s does not match openapi.json: %s: %s", body, e.Message, e.Reason)
			}
		}
	}
	_ = http.MethodGet
}

func TestOpenAPIPartsRefuseRedefinitions(t *testing.T) {
	cases := []struct {
		name      string
		doc, part string
		ok        bool
	}{
		{"new path", `{"paths":{"/a":{}}}`, `{"paths":{"/b":{}}}`, true},
		{"same path twice", `{"paths":{"/a":{}}}`, `{"paths":{"/a":{}}}`, false},
		{"new schema", `{"components":{"schemas":{"A":{}}}}`, `{"components":{"schemas":{"B":{}}}}`, true},
		{"same schema twice", `{"components":{"schemas":{"A":{}}}}`, `{"components":{"schemas":{"A":{}}}}`, false},
		{"scalar at top", `{}`, `{"openapi":"3.0.0"}`, false},
	}
	for _, c := range cases {
		var doc, part map[string]any
		if err := json.Unmarshal([]byte(c.doc), &doc); err != nil {
			t.Fatal(err)
		}
		json.Unmarshal([]byte(c.part), &part)
		if err := mergeInto(doc, part, "test.json"); (err == nil) != c.ok {
			t.Errorf("%s: err = %v, want ok=%v", c.name, err, c.ok)
		}
	}
}

// TestOpenAPITagsServersAndProblems: every operation is tagged with its
// area, the document names its server, and the Problem schema lists
// every client problem type with what to do about it.
func TestOpenAPITagsServersAndProblems(t *testing.T) {
	b, err := buildOpenAPI()
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Servers []map[string]any                     `json:"servers"`
		Tags    []map[string]any                     `json:"tags"`
		Paths   map[string]map[string]map[string]any `json:"paths"`
		Comp    struct {
			Schemas map[string]struct {
				Properties map[string]struct {
					Examples    []string `json:"examples"`
					Description string   `json:"description"`
				} `json:"properties"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Servers) == 0 || len(doc.Tags) < 7 {
		t.Errorf("%d servers, %d tags", len(doc.Servers), len(doc.Tags))
	}
	for path, ops := range doc.Paths {
		for method, op := range ops {
			if tags, _ := op["tags"].([]any); len(tags) == 0 {
				t.Errorf("%s %s has no tag", method, path)
			}
		}
	}
	typ := doc.Comp.Schemas["Problem"].Properties["type"]
	for k := range problemDocs {
		if !slices.Contains(typ.Examples, "https://verify.example.edu.cn"+k) || !strings.Contains(typ.Description, "`"+k+"`") {
			t.Errorf("the Problem schema does not list %s", k)
		}
	}
}
