package main

import (
	"bufio"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestDevExamplesWork runs every command dev prints, as printed, with
// bash, curl and jq: each answers 200 and says what its comment says —
// the public verification "match", the holder's degrees their
// certificate, the agency "match" twice in a row (a fresh token per
// call), the official the trail, the contractor a list.
func TestDevExamplesWork(t *testing.T) {
	for _, tool := range []string{"bash", "curl", "jq"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("the printed examples need %s (scripts/test.sh installs it): %v", tool, err)
		}
	}
	t.Run("with --state-dir", func(t *testing.T) { runDevExamples(t, t.TempDir()) })
	// Without it, the files the examples read are in a temporary folder.
	t.Run("without --state-dir", func(t *testing.T) { runDevExamples(t, "") })
}

func runDevExamples(t *testing.T, dir string) {
	args := []string{"dev", "--records", "2000", "--addr", "127.0.0.1:0"}
	if dir != "" {
		args = append(args, "--state-dir", dir)
	}
	cmd := exec.Command(binary, args...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Signal(syscall.SIGTERM); cmd.Wait() })
	lines := make(chan []string, 1)
	go func() {
		var got []string
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			l := sc.Text()
			if strings.HasPrefix(l, "  curl ") {
				got = append(got, strings.TrimSpace(l))
			}
			if strings.Contains(l, "/v1/datasets") {
				break
			}
		}
		lines <- got
		for sc.Scan() {
		}
	}()
	var examples []string
	select {
	case examples = <-lines:
	case <-time.After(60 * time.Second):
		t.Fatal("dev printed no examples")
	}
	want := []struct {
		path, says string
		times      int
	}{
		{"/healthz", "", 1},
		{"/v1/verify", `"result":"match"`, 1},
		{"/v1/holder/degrees", `"certificate_number"`, 1},
		{"/v1/holder/access-log", `"entries"`, 1},
		{"/v1/agency/verify", `"result":"match"`, 2},
		{"/v1/office/audit", `"entries"`, 1},
		{"/v1/datasets", `"datasets"`, 1},
	}
	if len(examples) != len(want) {
		t.Fatalf("dev printed %d examples, want %d:\n%s", len(examples), len(want), strings.Join(examples, "\n"))
	}
	status := regexp.MustCompile(`\n(\d{3})$`)
	for i, w := range want {
		if !strings.Contains(examples[i], w.path) {
			t.Fatalf("example %d is not for %s: %s", i+1, w.path, examples[i])
		}
		for range w.times {
			out, err := exec.Command("bash", "-c", examples[i]+` -w '\n%{http_code}'`).Output()
			m := status.FindSubmatch(out)
			if err != nil || m == nil || string(m[1]) != "200" || !strings.Contains(string(out), w.says) {
				t.Errorf("example %d (%s): %v\n%s", i+1, w.path, err, out)
			}
		}
	}
	if !strings.Contains(examples[4], "dev-issuer.jwk") || (dir != "" && !strings.Contains(examples[4], filepath.Join(dir, "dev-issuer.jwk"))) {
		t.Errorf("the agency example mints no token of its own: %s", examples[4])
	}
}
