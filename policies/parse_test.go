package policies

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// obj walks a decoded document along keys and returns the object there.
func obj(t *testing.T, d map[string]any, keys ...string) map[string]any {
	t.Helper()
	for _, k := range keys {
		next, ok := d[k].(map[string]any)
		if !ok {
			t.Fatalf("no object at %q in %v", k, keys)
		}
		d = next
	}
	return d
}

// mutated returns the default document with one change applied.
func mutated(t *testing.T, change func(t *testing.T, d map[string]any)) []byte {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(DefaultDocument()))
	dec.UseNumber() // keep 5000000 an integer on the way back
	var d map[string]any
	if err := dec.Decode(&d); err != nil {
		t.Fatal(err)
	}
	change(t, d)
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseRejects(t *testing.T) {
	const verify = `audiences.agency.scopes["degree.verify"]`
	agencyVerify := func(t *testing.T, d map[string]any) map[string]any {
		return obj(t, d, "audiences", "agency", "scopes", "degree.verify")
	}
	tests := []struct {
		name     string
		change   func(t *testing.T, d map[string]any)
		wantPath string
		wantMsg  string
	}{
		{"unknown top-level key", func(t *testing.T, d map[string]any) { d["extra"] = 1 },
			"extra", "unknown key"},
		{"unknown nested key", func(t *testing.T, d map[string]any) {
			obj(t, d, "audiences", "public", "limits", "per_client")["rate"] = 3
		}, "audiences.public.limits.per_client.rate", "unknown key"},
		{"unknown field", func(t *testing.T, d map[string]any) { agencyVerify(t, d)["fields"].(map[string]any)["id_no"] = "clear" },
			verify + ".fields.id_no", "unknown field"},
		{"unknown mask", func(t *testing.T, d map[string]any) {
			agencyVerify(t, d)["fields"].(map[string]any)["id_number"] = "partial"
		},
			verify + ".fields.id_number", `unknown mask "partial"`},
		{"date mask on text", func(t *testing.T, d map[string]any) {
			agencyVerify(t, d)["fields"].(map[string]any)["unit_name"] = "date_year"
		}, verify + ".fields.unit_name", "needs a date or month field"},
		{"unknown scope", func(t *testing.T, d map[string]any) {
			obj(t, d, "audiences", "agency", "scopes")["degree.everything"] = map[string]any{"legal_basis": "Art. 20"}
		}, `audiences.agency.scopes["degree.everything"]`, `unknown scope "degree.everything"`},
		{"agency scope for holders", func(t *testing.T, d map[string]any) {
			obj(t, d, "audiences", "holder", "scopes")["degree.verify.batch"] = agencyVerify(t, d)
		}, `audiences.holder.scopes["degree.verify.batch"]`, "cannot be granted to audience holder"},
		{"office scope for contractors", func(t *testing.T, d map[string]any) {
			obj(t, d, "audiences", "contractor", "scopes")["dataset.approve"] = map[string]any{"legal_basis": "Art. 23"}
		}, `audiences.contractor.scopes["dataset.approve"]`, "cannot be granted to audience contractor"},
		{"unknown audience", func(t *testing.T, d map[string]any) { obj(t, d, "audiences")["robot"] = map[string]any{} },
			"audiences.robot", "unknown audience"},
		{"missing audience", func(t *testing.T, d map[string]any) { delete(obj(t, d, "audiences"), "office") },
			"audiences.office", "missing"},
		{"unknown purpose reference", func(t *testing.T, d map[string]any) {
			g := agencyVerify(t, d)
			g["purposes"] = append(g["purposes"].([]any), "spying")
		}, verify + ".purposes[7]", `unknown purpose "spying"`},
		{"forbidden purpose accepted", func(t *testing.T, d map[string]any) {
			g := agencyVerify(t, d)
			g["purposes"] = append(g["purposes"].([]any), "commercial_use")
		}, verify + ".purposes[7]", "forbidden (Art. 24)"},
		{"purpose listed twice", func(t *testing.T, d map[string]any) {
			g := agencyVerify(t, d)
			g["purposes"] = append(g["purposes"].([]any), "employment_background_check")
		}, verify + ".purposes[7]", "listed twice"},
		{"agency without purposes", func(t *testing.T, d map[string]any) { delete(agencyVerify(t, d), "purposes") },
			verify + ".purposes", "Art. 20"},
		{"purposes on dataset scope", func(t *testing.T, d map[string]any) {
			obj(t, d, "audiences", "office", "scopes", "dataset.request")["purposes"] = []any{"degree_quality_evaluation"}
		}, `audiences.office.scopes["dataset.request"].purposes`, "datasets.purposes"},
		{"unknown dataset purpose", func(t *testing.T, d map[string]any) { obj(t, d, "datasets")["purposes"] = []any{"fun"} },
			"datasets.purposes[0]", `unknown purpose "fun"`},
		{"forbidden dataset purpose", func(t *testing.T, d map[string]any) {
			obj(t, d, "datasets")["purposes"] = []any{"degree_quality_evaluation", "marketing"}
		}, "datasets.purposes[1]", "forbidden"},
		{"unknown forbidden purpose", func(t *testing.T, d map[string]any) { obj(t, d, "datasets")["forbidden_purposes"] = []any{"gambling"} },
			"datasets.forbidden_purposes[0]", `unknown purpose "gambling"`},
		{"empty version", func(t *testing.T, d map[string]any) { d["version"] = "" }, "version", "missing"},
		{"version with spaces", func(t *testing.T, d map[string]any) { d["version"] = "v 1" }, "version", "may hold only"},
		{"version not a string", func(t *testing.T, d map[string]any) { d["version"] = 5 }, "version", "expected a string, found a number"},
		{"missing format", func(t *testing.T, d map[string]any) { delete(d, "format") }, "format", "missing"},
		{"future format", func(t *testing.T, d map[string]any) { d["format"] = 2 }, "format", "unsupported format 2"},
		{"null", func(t *testing.T, d map[string]any) { d["description"] = nil }, "description", "null is not allowed"},
		{"negative rps", func(t *testing.T, d map[string]any) {
			obj(t, d, "audiences", "public", "limits", "per_client")["rps"] = -1
		}, "audiences.public.limits.per_client.rps", "must be positive"},
		{"zero burst", func(t *testing.T, d map[string]any) {
			obj(t, d, "audiences", "public", "limits", "per_block")["burst"] = 0
		}, "audiences.public.limits.per_block.burst", "at least 1"},
		{"fractional burst", func(t *testing.T, d map[string]any) {
			obj(t, d, "audiences", "public", "limits", "per_block")["burst"] = 1.5
		}, "audiences.public.limits.per_block.burst", "expected an integer"},
		{"negative daily quota", func(t *testing.T, d map[string]any) {
			obj(t, d, "audiences", "agency", "limits")["daily_quota_per_org"] = -5
		}, "audiences.agency.limits.daily_quota_per_org", "at least 1"},
		{"per-org limit without a token", func(t *testing.T, d map[string]any) {
			obj(t, d, "audiences", "public", "limits")["per_org"] = map[string]any{"rps": 1, "burst": 1}
		}, "audiences.public.limits.per_org", "only audiences with tokens"},
		{"per_certificate outside public verification", func(t *testing.T, d map[string]any) {
			obj(t, d, "audiences", "agency", "limits")["per_certificate"] = map[string]any{"rps": 1, "burst": 1}
		}, "audiences.agency.limits.per_certificate", "only public verification"},
		{"token lifetime missing", func(t *testing.T, d map[string]any) {
			delete(obj(t, d, "audiences", "holder", "limits"), "max_token_lifetime")
		},
			"audiences.holder.limits.max_token_lifetime", "missing"},
		{"token lifetime too long", func(t *testing.T, d map[string]any) {
			obj(t, d, "audiences", "office", "limits")["max_token_lifetime"] = "30d"
		}, "audiences.office.limits.max_token_lifetime", "longer than"},
		{"negative batch", func(t *testing.T, d map[string]any) {
			obj(t, d, "audiences", "agency", "scopes", "degree.verify.batch")["max_batch"] = -1
		}, `audiences.agency.scopes["degree.verify.batch"].max_batch`, "between 1 and"},
		{"batch size on a single scope", func(t *testing.T, d map[string]any) { agencyVerify(t, d)["max_batch"] = 10 },
			verify + ".max_batch", "one item per call"},
		{"jti without a token", func(t *testing.T, d map[string]any) {
			obj(t, d, "audiences", "public", "scopes", "degree.verify")["require_jti"] = true
		}, `audiences.public.scopes["degree.verify"].require_jti`, "no token"},
		{"levels outside holder_code", func(t *testing.T, d map[string]any) { agencyVerify(t, d)["levels"] = map[string]any{} },
			verify + ".levels", "only to holder_code"},
		{"fields on a non-record scope", func(t *testing.T, d map[string]any) {
			obj(t, d, "audiences", "office", "scopes", "audit.read")["fields"] = map[string]any{"name": "clear"}
		}, `audiences.office.scopes["audit.read"].fields`, "discloses no record fields"},
		{"public sees the ID number", func(t *testing.T, d map[string]any) {
			obj(t, d, "audiences", "public", "scopes", "degree.verify", "fields")["id_number"] = "id_number"
		}, `audiences.public.scopes["degree.verify"].fields.id_number`, "may not see a direct identifier"},
		{"public sees the name in clear", func(t *testing.T, d map[string]any) {
			obj(t, d, "audiences", "public", "scopes", "degree.verify", "fields")["name"] = "clear"
		}, `audiences.public.scopes["degree.verify"].fields.name`, "only through the name or initial mask"},
		{"public sees the birth date", func(t *testing.T, d map[string]any) {
			obj(t, d, "audiences", "public", "scopes", "degree.verify", "fields")["birth_date"] = "date_year"
		}, `audiences.public.scopes["degree.verify"].fields.birth_date`, "birth date"},
		{"public sees the thesis", func(t *testing.T, d map[string]any) {
			obj(t, d, "audiences", "public", "scopes", "degree.verify", "fields")["thesis_topic_source"] = "clear"
		}, `audiences.public.scopes["degree.verify"].fields.thesis_topic_source`, "thesis"},
		{"bad legal basis", func(t *testing.T, d map[string]any) { agencyVerify(t, d)["legal_basis"] = "Article 20" },
			verify + ".legal_basis", `"Art. N"`},
		{"no such article", func(t *testing.T, d map[string]any) { obj(t, d, "purposes", "marketing")["legal_basis"] = "Art. 31" },
			"purposes.marketing.legal_basis", "no article"},
		{"purpose without English", func(t *testing.T, d map[string]any) {
			delete(obj(t, d, "purposes", "marketing", "description"), "en")
		}, "purposes.marketing.description.en", "missing"},
		{"bad purpose id", func(t *testing.T, d map[string]any) {
			obj(t, d, "purposes")["Bad-Id"] = obj(t, d, "purposes", "marketing")
		}, `purposes["Bad-Id"]`, "purpose id"},
		{"bad org pattern", func(t *testing.T, d map[string]any) { obj(t, d, "audiences", "agency")["orgs"] = []any{"GOV"} },
			"audiences.agency.orgs[0]", "bad organisation pattern"},
		{"orgs without a token", func(t *testing.T, d map[string]any) { obj(t, d, "audiences", "public")["orgs"] = []any{"gov:"} },
			"audiences.public.orgs", "no token"},
		{"code validity min > max", func(t *testing.T, d map[string]any) { obj(t, d, "holder_codes")["min_validity"] = "40d" },
			"holder_codes.min_validity", "more than max_validity"},
		{"default validity outside", func(t *testing.T, d map[string]any) { obj(t, d, "holder_codes")["default_validity"] = "1m" },
			"holder_codes.default_validity", "outside"},
		{"bad duration", func(t *testing.T, d map[string]any) { obj(t, d, "holder_codes")["max_validity"] = "1y" },
			"holder_codes.max_validity", "bad duration"},
		{"negative duration", func(t *testing.T, d map[string]any) { obj(t, d, "holder_codes")["max_validity"] = "-1h" },
			"holder_codes.max_validity", "must be positive"},
		{"unknown default level", func(t *testing.T, d map[string]any) { obj(t, d, "holder_codes")["default_level"] = "gold" },
			"holder_codes.default_level", `unknown level "gold"`},
		{"holder_code fields without levels", func(t *testing.T, d map[string]any) {
			obj(t, d, "audiences", "holder_code", "scopes", "degree.verify")["fields"] = map[string]any{"name": "name"}
		}, `audiences.holder_code.scopes["degree.verify"].fields`, "per detail level"},
		{"dataset names a non-field", func(t *testing.T, d map[string]any) {
			obj(t, d, "datasets", "fields")["shoe_size"] = map[string]any{"role": "insensitive"}
		}, "datasets.fields.shoe_size", "unknown field"},
		{"dataset carries a name", func(t *testing.T, d map[string]any) {
			obj(t, d, "datasets", "fields")["name"] = map[string]any{"role": "insensitive"}
		}, "datasets.fields.name", "direct identifier"},
		{"unknown hierarchy", func(t *testing.T, d map[string]any) { obj(t, d, "datasets", "fields", "gender")["hierarchy"] = "sex" },
			"datasets.fields.gender.hierarchy", `unknown hierarchy "sex"`},
		{"hierarchy misfit", func(t *testing.T, d map[string]any) {
			obj(t, d, "datasets", "fields", "birth_date")["hierarchy"] = "month"
		},
			"datasets.fields.birth_date.hierarchy", "month field only"},
		{"quasi-identifier kept as is", func(t *testing.T, d map[string]any) {
			obj(t, d, "datasets", "fields")["gender"] = map[string]any{"role": "sensitive"}
		}, "datasets.fields.gender.role", "must be a quasi_identifier"},
		{"a field released as it is", func(t *testing.T, d map[string]any) {
			obj(t, d, "datasets", "fields")["certificate_style"] = map[string]any{"role": "insensitive"}
		}, "datasets.fields.certificate_style.role", "no field is released as it is"},
		{"unknown role", func(t *testing.T, d map[string]any) { obj(t, d, "datasets", "fields", "status")["role"] = "secret" },
			"datasets.fields.status.role", `unknown role "secret"`},
		{"k of one", func(t *testing.T, d map[string]any) { obj(t, d, "datasets")["min_k"] = 1 }, "datasets.min_k", "at least 2"},
		{"suppression above one", func(t *testing.T, d map[string]any) { obj(t, d, "datasets")["max_suppression"] = 1.5 },
			"datasets.max_suppression", "[0, 1)"},
		{"dataset term too long", func(t *testing.T, d map[string]any) { obj(t, d, "datasets")["max_term"] = "400d" },
			"datasets.max_term", "temporary dataset"},
		{"missing datasets", func(t *testing.T, d map[string]any) { delete(d, "datasets") }, "datasets", "missing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(mutated(t, tt.change))
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("err = %v, want *Error", err)
			}
			msg := err.Error()
			if pe.Path != tt.wantPath || !strings.HasPrefix(msg, "policy: "+tt.wantPath+": ") || !strings.Contains(msg, tt.wantMsg) {
				t.Fatalf("err = %s\nwant  policy: %s: …%s…", msg, tt.wantPath, tt.wantMsg)
			}
			if strings.Contains(msg, "\n") {
				t.Fatalf("message spans lines: %q", msg)
			}
		})
	}
}

// The brief's example message, word for word.
func TestParseMessageExample(t *testing.T) {
	_, err := Parse(mutated(t, func(t *testing.T, d map[string]any) {
		obj(t, d, "audiences", "agency", "scopes", "degree.verify", "fields")["id_number"] = "partial"
	}))
	const want = `policy: audiences.agency.scopes["degree.verify"].fields.id_number: unknown mask "partial"`
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("err = %v, want %s…", err, want)
	}
}

func TestParseRejectsRaw(t *testing.T) {
	def := string(DefaultDocument())
	tests := []struct {
		name, doc, want string
	}{
		{"empty", "", "policy: unexpected end of the document"},
		{"not JSON", "policy", "invalid JSON"},
		{"array", "[]", "policy: expected an object, found an array"},
		{"duplicate key", `{"format": 1, "format": 1}`, "policy: format: key given twice"},
		{"duplicate map key", strings.Replace(def, `"public": {`, `"public": {}, "public": {`, 1), "policy: audiences.public: key given twice"},
		{"trailing data", def + "{}", "policy: unexpected data after the policy document"},
		{"truncated", def[:len(def)/2], "unexpected end of the document"},
		{"too large", `{"description": "` + strings.Repeat("x", MaxDocumentSize) + `"}`, "larger than"},
		{"huge integer", strings.Replace(def, `"max_batch": 1000`, `"max_batch": 1e400`, 1), "max_batch: expected an integer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.doc))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want …%s…", err, tt.want)
			}
		})
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.json")
	if err := os.WriteFile(good, DefaultDocument(), 0o600); err != nil {
		t.Fatal(err)
	}
	p, err := Load(good)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	def := mustDefault(t)
	if p.Version() != def.Version() {
		t.Errorf("version %q, want %q", p.Version(), def.Version())
	}

	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`{"format": 1, "verison": "x"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = Load(bad)
	if err == nil || err.Error() != "policy "+bad+": verison: unknown key" {
		t.Errorf("Load(bad) = %v", err)
	}
	if _, err := Load(filepath.Join(dir, "missing.json")); err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load(missing) = %v", err)
	}
}

// The default document, decoded and re-encoded by a third party, still
// loads: nothing in it depends on formatting.
func TestDefaultRoundTrip(t *testing.T) {
	if _, err := Parse(mutated(t, func(*testing.T, map[string]any) {})); err != nil {
		t.Fatal(err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add(DefaultDocument())
	f.Add([]byte(`{"format": 1, "version": "x"}`))
	f.Add([]byte(`{"format": 1, "version": "x", "audiences": {"public": {"scopes": {"degree.verify": {"fields": {"name": "name"}}}}}}`))
	f.Add([]byte(`[{"a": null}]`))
	f.Add([]byte(`{"format": 1e400}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := Parse(b)
		if err != nil {
			if p != nil {
				t.Fatal("policy and error")
			}
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("error of type %T: %v", err, err)
			}
			return
		}
		// A policy that loads must answer every question without panicking.
		if p.Version() == "" {
			t.Fatal("loaded with an empty version")
		}
		for _, a := range Audiences() {
			for _, s := range Scopes() {
				d, err := p.Decide(Request{Audience: a, Scope: s, Granted: []string{string(s)}, Org: "gov:x", Purpose: "employment_background_check", Level: "basic"})
				if err == nil {
					if d.PolicyVersion != p.Version() {
						t.Fatal("decision without the policy version")
					}
					if _, err := d.Apply(MapSource(map[string]string{"name": "张三", "thesis_title": "t"}), ApplyOptions{HashKey: make([]byte, 16)}); err != nil {
						t.Fatal(err)
					}
				}
			}
		}
	})
}
