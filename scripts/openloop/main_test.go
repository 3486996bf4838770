package main

import (
	"bufio"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"
)

func TestReadResponse(t *testing.T) {
	for _, tc := range []struct {
		name, raw string
		code      int
		ok        bool
	}{
		{"ok with body", "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}", 200, true},
		{"lower-case header", "HTTP/1.1 429 Too Many Requests\r\ncontent-length: 0\r\n\r\n", 429, true},
		{"no length", "HTTP/1.1 200 OK\r\n\r\n", 0, false},
		{"short body", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n{}", 0, false},
		{"bad status", "HTTP/1.1 2x0 OK\r\nContent-Length: 0\r\n\r\n", 0, false},
		{"not http", "SSH-2.0-OpenSSH\r\n\r\n", 0, false},
		{"bad length", "HTTP/1.1 200 OK\r\nContent-Length: -3\r\n\r\n", 0, false},
		{"header without colon", "HTTP/1.1 200 OK\r\nbroken\r\n\r\n", 0, false},
	} {
		code, err := readResponse(bufio.NewReader(strings.NewReader(tc.raw)))
		if (err == nil) != tc.ok || code != tc.code {
			t.Errorf("%s: got %d, %v; want %d, ok=%v", tc.name, code, err, tc.code, tc.ok)
		}
	}
	// Two answers back to back on one connection are read one at a time.
	br := bufio.NewReader(strings.NewReader("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcHTTP/1.1 503 X\r\nContent-Length: 0\r\n\r\n"))
	if c, err := readResponse(br); c != 200 || err != nil {
		t.Fatalf("first: %d %v", c, err)
	}
	if c, err := readResponse(br); c != 503 || err != nil {
		t.Fatalf("second: %d %v", c, err)
	}
}

func FuzzReadResponse(f *testing.F) {
	f.Add("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")
	f.Add("HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n")
	f.Fuzz(func(t *testing.T, raw string) {
		code, err := readResponse(bufio.NewReader(strings.NewReader(raw)))
		if err == nil && (code < 100 || code > 999) {
			t.Fatalf("status %d accepted", code)
		}
	})
}

// TestRunPacesAndCounts runs the generator against a real server for a
// short while: it sends at about the rate asked, every answer is counted
// by status, and latencies include a slow server's delay.
func TestRunPacesAndCounts(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.Contains(r.Header.Get("Content-Type"), "json") || r.ContentLength < 10 {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		time.Sleep(2 * time.Millisecond)
		w.Write([]byte(`{"result":"no_match"}`))
	}))
	defer srv.Close()
	samples := t.TempDir() + "/s.tsv"
	if err := os.WriteFile(samples, []byte("1000142020000000\t张三\n1000142020000001\tLi Si\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	err := run([]string{"--url", srv.URL + "/v1/verify", "--samples", samples, "--rate", "400", "--conns", "4",
		"--duration", "1s", "--requests", "10"}, &out)
	if err != nil {
		t.Fatal(err)
	}
	got := out.String()
	t.Log(got)
	if !strings.Contains(got, "status: 200×") || strings.Contains(got, "400×") {
		t.Errorf("answers by status wrong:\n%s", got)
	}
	var answers, errs int
	var achieved float64
	if _, err := fmt.Sscanf(got, "target 400 req/s for 1s: %d answers (%g req/s), %d errors", &answers, &achieved, &errs); err != nil {
		t.Fatalf("cannot read the summary: %v\n%s", err, got)
	}
	// Never faster than asked; the lower bound leaves room for a busy
	// test machine, where late requests are still sent, only later.
	if answers < 200 || answers > 420 || errs != 0 {
		t.Errorf("%d answers, %d errors for 400 req/s over 1 s", answers, errs)
	}
	// The server sleeps 2 ms, so no latency is below it.
	_, after, _ := strings.Cut(got, " p50 ")
	p50, err := time.ParseDuration(strings.Fields(after + " x")[0])
	if err != nil || p50 < 2*time.Millisecond || p50 > time.Second {
		t.Errorf("p50 %v (%v), want at least the server's 2 ms:\n%s", p50, err, got)
	}
}

func TestRunRejectsBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"--url", "https://x/v1/verify", "--samples", "x"},
		{"--url", "http://127.0.0.1:1/v", "--rate", "0"},
		{"--url", "http://127.0.0.1:1/v", "--samples", "/nonexistent"},
	} {
		if err := run(args, &strings.Builder{}); err == nil {
			t.Errorf("%q accepted", args)
		}
	}
}
