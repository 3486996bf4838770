package main

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestComposeRunsRealVerbs: every degreegate command of the compose
// stack, the gateway's healthcheck included, is a verb (and sub-verb)
// the binary has, with flags it accepts; every DEGREEGATE_ variable the
// stack sets is one the README documents.
func TestComposeRunsRealVerbs(t *testing.T) {
	b, err := os.ReadFile("../../deploy/compose.yaml")
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var tr transcript
	commands := regexp.MustCompile(`(?m)^\s+(?:command|test): \[(.*)\]`).FindAllStringSubmatch(string(b), -1)
	ours := 0
	for _, m := range commands {
		var args []string
		for _, a := range regexp.MustCompile(`"([^"]*)"`).FindAllStringSubmatch(m[1], -1) {
			args = append(args, a[1])
		}
		switch {
		case len(args) > 1 && args[0] == "CMD" && args[1] == "/degreegate":
			args = args[2:] // a healthcheck running the binary
		case len(args) > 0 && (args[0] == "postgres" || args[0] == "redis-server" || args[0] == "CMD" || args[0] == "CMD-SHELL"):
			continue // the database's and Redis's own
		}
		ours++
		// The verb (and sub-verb) with its flags, asking for help: exit 0
		// only if every flag before -h parses.
		r := tr.run(t, nil, append(args, "-h")...)
		if r.code != 0 {
			t.Errorf("compose runs %v: exit %d with -h: %s %s", args, r.code, r.stdout, r.stderr)
		}
	}
	if ours < 5 {
		t.Fatalf("found %d degreegate commands in compose.yaml, want keys, issuer, migrate, serve and the healthcheck", ours)
	}
	if !strings.Contains(string(b), `"/degreegate", "health"`) {
		t.Error("the gateway has no healthcheck running degreegate health")
	}
	for _, v := range regexp.MustCompile(`(?m)^\s+(DEGREEGATE_[A-Z_]+):`).FindAllStringSubmatch(string(b), -1) {
		if !strings.Contains(string(readme), "`"+v[1]+"`") {
			t.Errorf("compose sets %s, which the README does not document", v[1])
		}
	}
}
