package gateway

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/degreegate/degreegate/gateway/web"
)

// apiReference turns the OpenAPI document into the reference page's
// content: each tag's operations in path order, with their parameters,
// request examples and answers. It runs once, when the page is made.
func apiReference(doc []byte) (*web.APIReference, error) {
	var d struct {
		Info struct {
			Title, Version, Description string
		}
		Tags       []struct{ Name, Description string }
		Paths      map[string]map[string]json.RawMessage
		Components struct {
			Responses map[string]openAPIResponse
		}
	}
	if err := json.Unmarshal(doc, &d); err != nil {
		return nil, fmt.Errorf("api reference: %w", err)
	}
	ref := &web.APIReference{Title: d.Info.Title, Version: d.Info.Version, Description: d.Info.Description}
	byTag := map[string]*web.APITag{}
	for _, t := range d.Tags {
		ref.Tags = append(ref.Tags, web.APITag{Name: t.Name, Description: t.Description})
	}
	for i := range ref.Tags {
		byTag[ref.Tags[i].Name] = &ref.Tags[i]
	}
	paths := make([]string, 0, len(d.Paths))
	for p := range d.Paths {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, path := range paths {
		for _, method := range []string{"get", "post", "put", "patch", "delete"} {
			raw, ok := d.Paths[path][method]
			if !ok {
				continue
			}
			op, tag, err := apiOperation(method, path, raw, d.Components.Responses)
			if err != nil {
				return nil, err
			}
			t, ok := byTag[tag]
			if !ok {
				return nil, fmt.Errorf("api reference: %s %s: tag %q is not declared", method, path, tag)
			}
			t.Ops = append(t.Ops, op)
		}
	}
	return ref, nil
}

// openAPIOperation is what the page shows of an operation.
type openAPIOperation struct {
	OperationID string `json:"operationId"`
	Summary     string
	Description string
	Tags        []string
	Parameters  []struct {
		Name, In, Description string
		Required              bool
	}
	RequestBody struct {
		Content map[string]openAPIMedia
	} `json:"requestBody"`
	Responses map[string]openAPIResponse
}

type openAPIResponse struct {
	Description string
	Ref         string `json:"$ref"`
	Content     map[string]openAPIMedia
}

type openAPIMedia struct {
	Example  json.RawMessage
	Examples map[string]struct {
		Summary string
		Value   json.RawMessage
	}
}

// apiOperation is one operation for the page; shared responses ($ref to
// components/responses) are shown in place.
func apiOperation(method, path string, raw json.RawMessage, shared map[string]openAPIResponse) (web.APIOp, string, error) {
	var o openAPIOperation
	if err := json.Unmarshal(raw, &o); err != nil {
		return web.APIOp{}, "", fmt.Errorf("api reference: %s %s: %w", method, path, err)
	}
	op := web.APIOp{ID: o.OperationID, Method: strings.ToUpper(method), Path: path, Summary: o.Summary, Description: o.Description}
	for _, p := range o.Parameters {
		op.Params = append(op.Params, web.APIParam{Name: p.Name, In: p.In, Description: p.Description, Required: p.Required})
	}
	op.Request = mediaExamples(o.RequestBody.Content)
	statuses := make([]string, 0, len(o.Responses))
	for st := range o.Responses {
		statuses = append(statuses, st)
	}
	sort.Strings(statuses)
	for _, st := range statuses {
		r := o.Responses[st]
		if name, ok := strings.CutPrefix(r.Ref, "#/components/responses/"); ok {
			s, ok := shared[name]
			if !ok {
				return web.APIOp{}, "", fmt.Errorf("api reference: %s %s: no response %q", method, path, name)
			}
			r = s
		}
		desc := r.Description
		op.Responses = append(op.Responses, web.APIResponse{Status: st, Description: desc, Examples: mediaExamples(r.Content)})
	}
	tag := ""
	if len(o.Tags) > 0 {
		tag = o.Tags[0]
	}
	return op, tag, nil
}

// mediaExamples are a body's examples, each pretty-printed, in media
// type then name order.
func mediaExamples(content map[string]openAPIMedia) []web.APIExample {
	types := make([]string, 0, len(content))
	for mt := range content {
		types = append(types, mt)
	}
	sort.Strings(types)
	var out []web.APIExample
	for _, mt := range types {
		m := content[mt]
		if len(m.Example) > 0 {
			out = append(out, web.APIExample{MediaType: mt, Body: prettyJSON(m.Example)})
		}
		names := make([]string, 0, len(m.Examples))
		for n := range m.Examples {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			e := m.Examples[n]
			name := n
			if e.Summary != "" {
				name = e.Summary
			}
			out = append(out, web.APIExample{Name: name, MediaType: mt, Body: prettyJSON(e.Value)})
		}
	}
	return out
}

// prettyJSON indents a JSON value; a string value (an example of a text
// body) is shown as its text.
func prettyJSON(v json.RawMessage) string {
	var s string
	if json.Unmarshal(v, &s) == nil {
		return s
	}
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	var x any
	if err := json.Unmarshal(v, &x); err != nil {
		return string(v)
	}
	if err := enc.Encode(x); err != nil {
		return string(v)
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// handleAPIReference is GET /docs/api: the OpenAPI document as a page,
// readable without JavaScript.
func (p *webPage) handleAPIReference(c *fiber.Ctx) error {
	lang := web.Negotiate(c.Query("lang"), c.Get(fiber.HeaderAcceptLanguage))
	page := p.newPage(lang, "/docs/api")
	page.Docs = &web.Docs{API: p.apiRef}
	return p.sendDoc(c, page)
}
