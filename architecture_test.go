package degreegate_test

// The dependency direction of DESIGN.md, checked on every test run: the
// core never imports a driver, and only the command wires adapters.

import (
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/degreegate/degreegate"

var drivers = []string{
	"github.com/jackc/pgx", "github.com/redis/go-redis", "github.com/gofiber/fiber", "github.com/golang-jwt/jwt",
}

// adapters may be imported by cmd/degreegate (and their own tests) only.
var adapters = []string{module + "/registry/postgres", module + "/gateway/redisstate"}

func TestDependencyDirection(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}}:{{join .Imports " "}}`, "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	checked := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		pkg, imports, _ := strings.Cut(line, ":")
		rel := strings.TrimPrefix(strings.TrimPrefix(pkg, module), "/")
		for _, imp := range strings.Fields(imports) {
			checked++
			if msg := violation(rel, imp); msg != "" {
				t.Errorf("%s imports %s: %s", pkg, imp, msg)
			}
		}
	}
	if checked == 0 {
		t.Fatal("no imports checked")
	}
}

func violation(pkg, imp string) string {
	ours := strings.HasPrefix(imp, module)
	isDriver := false
	for _, d := range drivers {
		if strings.HasPrefix(imp, d) {
			isDriver = true
		}
	}
	top, _, _ := strings.Cut(pkg, "/")
	switch {
	case pkg == "registry":
		// The trail is a transparency log: the core does its tree maths
		// with translog, which itself imports nothing of ours.
		if isDriver || (ours && imp != module+"/translog") {
			return "the core imports nothing of ours but the log's maths, and no driver"
		}
	case pkg == "policies":
		if ours || isDriver {
			return "the core imports nothing of ours and no driver"
		}
	case pkg == "registry/postgres":
		// recordbin is the core's own encoding of a record (standard
		// library only), which the store keeps in its body column;
		// translog the maths of the log it keeps beside the trail; filing
		// the workflow whose records it keeps in the same transactions as
		// their versions and entries.
		if ours && imp != module+"/registry" && imp != module+"/registry/recordbin" && imp != module+"/translog" && imp != module+"/filing" {
			return "an adapter imports only the core it adapts, its encoding, the log's maths and the filing workflow"
		}
	case top == "registry" || top == "policies":
		if isDriver {
			return "only registry/postgres may use a driver"
		}
	case top == "disclose":
		// The one place data leaves the registry decides on the core's
		// terms alone: no HTTP, no token library, no storage.
		if isDriver || (ours && imp != module+"/registry" && imp != module+"/policies" && imp != module+"/registry/recordfile") {
			return "disclose imports registry, its record files and policies only"
		}
	case top == "translog":
		// The transparency log is maths over hashes: it knows nothing of
		// records, storage or HTTP.
		if ours || isDriver {
			return "translog imports nothing of ours and no driver"
		}
	case pkg == "filing/filingtest":
		if isDriver || (ours && imp != module+"/filing" && !strings.HasPrefix(imp, module+"/registry")) {
			return "the filing contract suite imports filing and the registry's core only"
		}
	case pkg == "filing/webhook":
		if isDriver || (ours && imp != module+"/filing") {
			return "the webhook sender imports the filing workflow only"
		}
	case top == "filing":
		// The filing workflow decides on the core's terms: its rules,
		// and a desk that files through the registry's records, import
		// check and trail. Storage and HTTP wrap it.
		if isDriver || (ours && imp != module+"/registry" && imp != module+"/registry/ingest" && imp != module+"/registry/recordfile") {
			return "filing imports the registry, its import checks and record files only, and no driver"
		}
	case pkg == "anonymizer/check":
		// dataset check recounts k and l from a file alone, so that it
		// can catch the engine's mistakes: it shares none of its code.
		if isDriver || (ours && imp != module+"/anonymizer/csvio") {
			return "dataset check reads files through csvio only, sharing no code with the engine"
		}
	case top == "anonymizer":
		if isDriver || strings.HasPrefix(imp, module+"/gateway") || strings.HasPrefix(imp, module+"/datasets") {
			return "the anonymizer imports registry and policies only"
		}
	case top == "datasets":
		if isDriver || strings.HasPrefix(imp, module+"/gateway") || strings.HasPrefix(imp, module+"/cmd") {
			return "the dataset lifecycle imports anonymizer, registry and policies, never the gateway or a driver"
		}
	case pkg == "gateway/redisstate":
	case pkg == "gateway/sheet":
		// Reading and writing spreadsheets is not HTTP: excelize and
		// x/text, nothing of ours.
		if ours || isDriver {
			return "the sheet reader imports nothing of ours and no driver"
		}
	case top == "gateway":
		if strings.HasPrefix(imp, "github.com/jackc/pgx") || strings.HasPrefix(imp, "github.com/redis/go-redis") {
			return "storage drivers stay behind the gateway's interfaces"
		}
	}
	if top != "cmd" {
		for _, a := range adapters {
			if imp == a {
				return "only cmd/degreegate wires adapters"
			}
		}
	}
	return ""
}
