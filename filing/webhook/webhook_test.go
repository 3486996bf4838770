package webhook

import (
	"context"
	"crypto/hmac"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/degreegate/degreegate/filing"
)

var secret = []byte("0123456789abcdef0123")

// receiver answers with codes in turn and keeps what it got.
type receiver struct {
	mu         sync.Mutex
	codes      []int
	bodies     []string
	signatures []string
	deliveries []string
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	defer r.mu.Unlock()
	b, _ := io.ReadAll(req.Body)
	r.bodies = append(r.bodies, string(b))
	r.signatures = append(r.signatures, req.Header.Get("Degreegate-Signature"))
	r.deliveries = append(r.deliveries, req.Header.Get("Degreegate-Delivery"))
	code := http.StatusOK
	if len(r.codes) > 0 {
		code, r.codes = r.codes[0], r.codes[1:]
	}
	w.WriteHeader(code)
}

func newSender(t *testing.T, url string) *Sender {
	s, err := New(url, secret)
	if err != nil {
		t.Fatal(err)
	}
	s.backoff = time.Millisecond
	return s
}

// verify checks a signature as a receiver would, from the header alone.
func verify(header, body string) bool {
	ts, mac, ok := strings.Cut(header, ",v1=")
	if !ok || !strings.HasPrefix(ts, "t=") {
		return false
	}
	want := Sign(secret, time.Unix(atoi(ts[2:]), 0), []byte(body))
	return hmac.Equal([]byte(want), []byte(ts+",v1="+mac))
}

func atoi(s string) int64 {
	var n int64
	for _, c := range s {
		n = n*10 + int64(c-'0')
	}
	return n
}

func event() Event {
	due := time.Date(2026, 8, 1, 10, 0, 0, 0, time.UTC)
	return Overdue(due.Add(time.Hour), filing.NewlyOverdue(
		[]filing.OverdueCount{{Unit: "10001", State: filing.Submitted, Count: 2}},
		[]filing.OverdueCount{{Unit: "10001", State: filing.Submitted, Count: 5, OldestDue: due}, {Unit: "10002", State: filing.Draft, Count: 1, OldestDue: due}}))
}

// A failing endpoint is retried, each attempt signed, with one delivery
// id; the event names units, states and counts only.
func TestSendRetriesUntilAccepted(t *testing.T) {
	rec := &receiver{codes: []int{503, 500, 200}}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	if err := newSender(t, srv.URL).Send(context.Background(), event()); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if len(rec.bodies) != 3 {
		t.Fatalf("%d attempts, want 3", len(rec.bodies))
	}
	for i := range rec.bodies {
		if !verify(rec.signatures[i], rec.bodies[i]) {
			t.Errorf("attempt %d: the signature %q does not verify", i, rec.signatures[i])
		}
		if rec.deliveries[i] != rec.deliveries[0] || rec.deliveries[i] == "" {
			t.Errorf("attempt %d: delivery %q, the first's %q", i, rec.deliveries[i], rec.deliveries[0])
		}
	}
	var got Event
	if err := json.Unmarshal([]byte(rec.bodies[2]), &got); err != nil {
		t.Fatal(err)
	}
	if got.Type != "filing.overdue" || len(got.Overdue) != 2 || got.Overdue[0].New != 3 || got.Overdue[1].New != 1 {
		t.Errorf("event %+v", got)
	}
	if verify(rec.signatures[0], rec.bodies[0]+" ") {
		t.Error("a changed body still verifies")
	}
}

// A client error is final; attempts run out; a context ends the wait.
func TestSendStops(t *testing.T) {
	rec := &receiver{codes: []int{400, 200}}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	if err := newSender(t, srv.URL).Send(context.Background(), event()); !errors.Is(err, ErrRefused) || len(rec.bodies) != 1 {
		t.Errorf("a 400: %v after %d attempts", err, len(rec.bodies))
	}
	rec = &receiver{codes: []int{503, 503, 503, 503, 503, 503}}
	srv2 := httptest.NewServer(rec)
	defer srv2.Close()
	if err := newSender(t, srv2.URL).Send(context.Background(), event()); err == nil || len(rec.bodies) != 5 {
		t.Errorf("always 503: %v after %d attempts, want 5", err, len(rec.bodies))
	}
	s := newSender(t, srv2.URL)
	s.backoff = time.Hour
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	rec.codes = []int{503}
	if err := s.Send(ctx, event()); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("an ended context: %v", err)
	}
}

func TestNewRefuses(t *testing.T) {
	for _, c := range []struct{ url, secret string }{
		{"http://example.org/hook", string(secret)},
		{"ftp://example.org/hook", string(secret)},
		{"/hook", string(secret)},
		{"https://example.org/hook", "short"},
	} {
		if _, err := New(c.url, []byte(c.secret)); err == nil {
			t.Errorf("New(%q, %d-byte secret) took it", c.url, len(c.secret))
		}
	}
	if _, err := New("http://127.0.0.1:9/hook", secret); err != nil {
		t.Errorf("a loopback http endpoint: %v", err)
	}
}
