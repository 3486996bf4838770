package token

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pb33f/jsonschema/v6"
)

// The trusted-issuers file's JSON Schema (trusted-issuers.schema.json,
// for editors and CI of whoever writes the file) and the loader agree:
// the examples pass both, and each broken file fails both (issue 16,
// item 17).
func TestTrustedIssuersSchemaAgreesWithTheLoader(t *testing.T) {
	f, err := os.Open("trusted-issuers.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("trusted-issuers.schema.json", doc); err != nil {
		t.Fatal(err)
	}
	schema, err := c.Compile("trusted-issuers.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	valid := func(text string) error {
		v, err := jsonschema.UnmarshalJSON(strings.NewReader(text))
		if err != nil {
			return err
		}
		return schema.Validate(v)
	}
	for _, name := range []string{"trusted-issuers.json", "trusted-issuers-keycloak.json"} {
		path := filepath.Join("testdata", name)
		b, _ := os.ReadFile(path)
		if err := valid(string(b)); err != nil {
			t.Errorf("%s against the schema: %v", name, err)
		}
		if _, err := LoadConfig(path); err != nil {
			t.Errorf("%s loaded: %v", name, err)
		}
	}
	good := `{"iss":"https://idp.example/","aud":["degreegate"],"kind":"agency","jwks":"https://idp.example/jwks","algorithms":["EdDSA"],"max_lifetime":"15m"}`
	for name, issuer := range map[string]string{
		"unknown key":          strings.Replace(good, `"kind"`, `"extra":1,"kind"`, 1),
		"public is no kind":    strings.Replace(good, `"agency"`, `"public"`, 1),
		"plain http keys":      strings.Replace(good, `"https://idp.example/jwks"`, `"http://idp.example/jwks"`, 1),
		"credentials in a URL": strings.Replace(good, `"https://idp.example/jwks"`, `"https://u:p@idp.example/jwks"`, 1),
		"HS256":                strings.Replace(good, `["EdDSA"]`, `["HS256"]`, 1),
		"no algorithm":         strings.Replace(good, `["EdDSA"]`, `[]`, 1),
		"a lifetime in days":   strings.Replace(good, `"15m"`, `"1d"`, 1),
		"no audience":          strings.Replace(good, `["degreegate"]`, `[]`, 1),
	} {
		text := `{"issuers":[` + issuer + `]}`
		if valid(text) == nil {
			t.Errorf("%s: the schema accepts it", name)
		}
		if _, err := ParseConfig(strings.NewReader(text), "."); err == nil {
			t.Errorf("%s: the loader accepts it", name)
		}
	}
	if err := valid(`{"issuers":[` + good + `]}`); err != nil {
		t.Errorf("a good issuer: %v", err)
	}
}
