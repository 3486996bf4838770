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
		if err := mergeInto(doc, part, name); err != nil {
			return nil, err
		}
	}
	return json.Marshal(doc)
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
