package token

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLoadConfigExample(t *testing.T) {
	cfg, err := LoadConfig("testdata/trusted-issuers.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Issuers) != 2 {
		t.Fatalf("%d issuers", len(cfg.Issuers))
	}
	h := cfg.Issuers[1]
	if h.Kind != AudienceHolder || time.Duration(h.MaxLifetime) != 10*time.Minute {
		t.Errorf("holder issuer read as %+v", h)
	}
	if want := filepath.Join("testdata", "jwks-mixed.json"); h.JWKS != want {
		t.Errorf("relative jwks resolved to %q, want %q", h.JWKS, want)
	}
	if u := cfg.Issuers[0].JWKS; !strings.HasPrefix(u, "https://") {
		t.Errorf("URL rewritten: %q", u)
	}
}

// TestParseConfigRejects: every mistake stops start-up with a message
// naming the field.
func TestParseConfigRejects(t *testing.T) {
	const good = `{"iss":"https://a.example/","aud":["dg"],"kind":"agency","jwks":"k.json","algorithms":["EdDSA"],"max_lifetime":"15m"}`
	with := func(old, repl string) string {
		if !strings.Contains(good, old) {
			t.Fatalf("fixture lacks %q", old)
		}
		return `{"issuers":[` + strings.Replace(good, old, repl, 1) + `]}`
	}
	rows := []struct{ name, doc, want string }{
		{"unknown top-level key", `{"issuers":[` + good + `],"extra":1}`, "unknown field"},
		{"unknown issuer key", with(`"kind"`, `"jku":"x","kind"`), "unknown field"},
		{"trailing data", `{"issuers":[` + good + `]} {}`, "trailing"},
		{"no issuers", `{"issuers":[]}`, "at least one"},
		{"no iss", with(`"iss":"https://a.example/"`, `"iss":""`), "iss"},
		{"iss with a newline", with(`"iss":"https://a.example/"`, `"iss":"a\nb"`), "iss"},
		{"iss with a fragment", with(`"iss":"https://a.example/"`, `"iss":"https://a.example/#x"`), "iss"},
		{"duplicate iss", `{"issuers":[` + good + `,` + good + `]}`, "same issuer"},
		{"no aud", with(`"aud":["dg"]`, `"aud":[]`), "aud"},
		{"aud as string", with(`"aud":["dg"]`, `"aud":"dg"`), "aud"},
		{"unknown kind", with(`"kind":"agency"`, `"kind":"public"`), "kind"},
		{"no jwks", with(`"jwks":"k.json"`, `"jwks":""`), "jwks"},
		{"http jwks", with(`"jwks":"k.json"`, `"jwks":"http://idp.example/jwks"`), "https"},
		{"jwks URL with credentials", with(`"jwks":"k.json"`, `"jwks":"https://u:p@idp.example/jwks"`), "credentials"},
		{"HS256 allowed", with(`"algorithms":["EdDSA"]`, `"algorithms":["EdDSA","HS256"]`), "HS256"},
		{"none allowed", with(`"algorithms":["EdDSA"]`, `"algorithms":["none"]`), "none"},
		{"no algorithms", with(`"algorithms":["EdDSA"]`, `"algorithms":[]`), "algorithms"},
		{"algorithm twice", with(`"algorithms":["EdDSA"]`, `"algorithms":["EdDSA","EdDSA"]`), "twice"},
		{"no max_lifetime", with(`,"max_lifetime":"15m"`, ``), "max_lifetime"},
		{"max_lifetime over a day", with(`"15m"`, `"25h"`), "max_lifetime"},
		{"max_lifetime as number", with(`"15m"`, `900`), "duration"},
		{"max_lifetime unparsable", with(`"15m"`, `"soon"`), "duration"},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			_, err := ParseConfig(strings.NewReader(r.doc), "")
			if err == nil || !strings.Contains(err.Error(), r.want) {
				t.Fatalf("error = %v, want one mentioning %q", err, r.want)
			}
		})
	}
	if _, err := ParseConfig(strings.NewReader(`{"issuers":[`+good+`]}`), ""); err != nil {
		t.Fatalf("the good fixture itself fails: %v", err)
	}
}
