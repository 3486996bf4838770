package gateway

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"sort"

	"github.com/gofiber/fiber/v2"
)

// The OpenAPI document is written in parts, one per area of the API
// (openapi/public.json, holder.json, …) over openapi/base.json, so each
// area documents itself beside its handlers. Parts add paths and
// components; a name defined twice is an error. openapi_test.go keeps the
// whole in step with routes.go and validates it.
//
//go:embed openapi/*.json
var openAPIParts embed.FS

// buildOpenAPI merges the parts into one document.
func buildOpenAPI() ([]byte, error) {
	base, err := openAPIParts.ReadFile("openapi/base.json")
	if err != nil {
		return nil, err
	}
	var doc map[string]any
	if err := json.Unmarshal(base, &doc); err != nil {
		return nil, fmt.Errorf("openapi/base.json: %w", err)
	}
	names, err := fs.Glob(openAPIParts, "openapi/*.json")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	for _, name := range names {
		if name == "openapi/base.json" {
			continue
		}
		b, err := openAPIParts.ReadFile(name)
		if err != nil {
			return nil, err
		}
		var part map[string]any
		if err := json.Unmarshal(b, &part); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		tagOperations(part, partTags[name])
		if err := mergeInto(doc, part, name); err != nil {
			return nil, err
		}
	}
	describeProblems(doc)
	doc["servers"] = []any{map[string]any{"url": "/", "description": "this gateway (every path is relative to it)"}}
	var tags []any
	for _, name := range names {
		if t, ok := partTags[name]; ok {
			tags = append(tags, map[string]any{"name": t.name, "description": t.description})
		}
	}
	doc["tags"] = tags
	return json.Marshal(doc)
}

// partTag names the area of the API a part documents.
type partTag struct{ name, description string }

// partTags tags each part's operations that have no tag of their own.
var partTags = map[string]partTag{
	"openapi/public.json":    {"public", "Public verification and the gateway's own endpoints (Art. 22)"},
	"openapi/holder.json":    {"holder", "Degree holders: their degrees, share codes and access log; shared reports"},
	"openapi/agency.json":    {"agency", "Government agencies' data-sharing interface (Art. 20, 22)"},
	"openapi/office.json":    {"office", "Officials: the audit trail (Art. 15)"},
	"openapi/datasets.json":  {"datasets", "Research datasets: requests, decisions, downloads (Art. 23-24)"},
	"openapi/filing.json":    {"filing", "The filing workflow: units upload and check, provinces review, records become filed (Art. 11-19)"},
	"openapi/log.json":       {"log", "The transparency log: checkpoints and proofs"},
	"openapi/web.json":       {"web", "The web page (HTML, Chinese and English, no JavaScript)"},
	"openapi/reference.json": {"docs", "Documentation pages: the problem types, and this API (HTML, no JavaScript)"},
}

// tagOperations gives every operation of part without tags the part's.
func tagOperations(part map[string]any, t partTag) {
	paths, _ := part["paths"].(map[string]any)
	for _, item := range paths {
		ops, _ := item.(map[string]any)
		for _, op := range ops {
			if o, ok := op.(map[string]any); ok && o["tags"] == nil && t.name != "" {
				o["tags"] = []any{t.name}
			}
		}
	}
}

// describeProblems lists, on the Problem schema's type, every problem
// type the gateway answers with and what a client can do about it
// (problemdocs.go, guidance.go), so that the document names them all.
func describeProblems(doc map[string]any) {
	components, _ := doc["components"].(map[string]any)
	schemas, _ := components["schemas"].(map[string]any)
	problem, _ := schemas["Problem"].(map[string]any)
	props, _ := problem["properties"].(map[string]any)
	typ, _ := props["type"].(map[string]any)
	if typ == nil {
		return
	}
	keys := make([]string, 0, len(problemDocs))
	for k := range problemDocs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var examples []any
	desc := "An absolute URI on the gateway's public address, ending in one of the paths below; " +
		"GET of it (or /problems) is a page saying what the problem means and what to do. Clients may branch on the path. What to do:"
	for _, k := range keys {
		examples = append(examples, "https://verify.example.edu.cn"+k)
		advice := guidance[k]
		if problemDocs[k].status >= 500 {
			advice = serverAdvice[1]
		}
		desc += fmt.Sprintf("\n- `%s` (%d): %s", k, problemDocs[k].status, advice)
	}
	typ["examples"] = examples
	typ["description"] = desc
}

// mergeInto adds part's objects to doc, two levels deep (paths/X,
// components/schemas/X), refusing to redefine a name.
func mergeInto(doc, part map[string]any, from string) error {
	for key, v := range part {
		switch pv := v.(type) {
		case map[string]any:
			dv, _ := doc[key].(map[string]any)
			if dv == nil {
				dv = map[string]any{}
				doc[key] = dv
			}
			for k2, v2 := range pv {
				sub, isMap := v2.(map[string]any)
				if key == "components" && isMap {
					dsub, _ := dv[k2].(map[string]any)
					if dsub == nil {
						dsub = map[string]any{}
						dv[k2] = dsub
					}
					for k3, v3 := range sub {
						if _, dup := dsub[k3]; dup {
							return fmt.Errorf("%s: components.%s.%s is defined twice", from, k2, k3)
						}
						dsub[k3] = v3
					}
					continue
				}
				if _, dup := dv[k2]; dup {
					return fmt.Errorf("%s: %s %s is defined twice", from, key, k2)
				}
				dv[k2] = v2
			}
		default:
			return fmt.Errorf("%s: top-level %q must be an object", from, key)
		}
	}
	return nil
}

func (s *Server) handleOpenAPI() fiber.Handler {
	return func(c *fiber.Ctx) error {
		c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
		return c.Send(s.openAPI)
	}
}
