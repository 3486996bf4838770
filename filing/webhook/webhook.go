// Package webhook tells an endpoint the operator configures when records
// of the filing workflow become overdue (Art. 12, 13, 18): a JSON POST,
// signed with HMAC-SHA256 over its timestamp and body, retried with
// exponential backoff while the endpoint fails or cannot be reached.
//
// The signature header is "Degreegate-Signature: t=<unix seconds>,
// v1=<hex HMAC-SHA256(secret, t + "." + body)>", as Stripe's webhooks
// sign theirs, so receivers check it with a few lines of any language and
// refuse replays by the timestamp. Degreegate-Delivery names the event
// once, whatever the retries, so receivers can drop duplicates.
package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/degreegate/degreegate/filing"
)

// MinSecret is the shortest secret a sender takes.
const MinSecret = 16

// Sender posts events to one endpoint.
type Sender struct {
	url      string
	secret   []byte
	client   *http.Client
	now      func() time.Time
	attempts int
	backoff  time.Duration // before the second attempt; doubled after each
}

// New is a sender to endpoint (https, or http on a loopback address),
// signing with secret.
func New(endpoint string, secret []byte) (*Sender, error) {
	u, err := url.Parse(endpoint)
	if err != nil || u.Host == "" {
		return nil, errors.New("webhook: the endpoint is not an absolute URL")
	}
	loopback := u.Hostname() == "localhost" || u.Hostname() == "127.0.0.1" || u.Hostname() == "::1"
	if u.Scheme != "https" && !(u.Scheme == "http" && loopback) {
		return nil, errors.New("webhook: the endpoint must be https (or http on a loopback address)")
	}
	if len(secret) < MinSecret {
		return nil, fmt.Errorf("webhook: the secret must be at least %d bytes", MinSecret)
	}
	return &Sender{url: endpoint, secret: bytes.Clone(secret), client: &http.Client{Timeout: 10 * time.Second},
		now: time.Now, attempts: 5, backoff: time.Second}, nil
}

// Count is one unit's overdue records in one state.
type Count struct {
	Unit      string    `json:"unit_code"`
	State     string    `json:"state"`
	Count     int       `json:"count"`
	New       int       `json:"new"`
	OldestDue time.Time `json:"oldest_due"`
}

// Event is what a POST carries: what became overdue since the last
// count. Certificate numbers and names are never in it.
type Event struct {
	Type    string    `json:"type"` // "filing.overdue"
	At      time.Time `json:"at"`
	Overdue []Count   `json:"overdue"`
}

// Overdue is the event for counts that became overdue.
func Overdue(at time.Time, newly []filing.OverdueCount) Event {
	e := Event{Type: "filing.overdue", At: at.UTC(), Overdue: make([]Count, len(newly))}
	for i, c := range newly {
		e.Overdue[i] = Count{Unit: c.Unit, State: string(c.State), Count: c.Count, New: c.New, OldestDue: c.OldestDue.UTC()}
	}
	return e
}

// Sign is the signature header's value for body sent at t.
func Sign(secret []byte, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts + "."))
	m.Write(body)
	return "t=" + ts + ",v1=" + hex.EncodeToString(m.Sum(nil))
}

// ErrRefused: the endpoint answered with a client error (other than 408
// or 429), which a retry would not change.
var ErrRefused = errors.New("webhook: the endpoint refused the event")

// Send posts e until the endpoint answers 2xx, the endpoint refuses it,
// the attempts run out or ctx ends. Each attempt is signed afresh, with
// the delivery id of the first.
func (s *Sender) Send(ctx context.Context, e Event) error {
	body, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("webhook: %w", err)
	}
	var id [12]byte
	_, _ = rand.Read(id[:]) // crypto/rand.Read never fails
	delivery := hex.EncodeToString(id[:])
	wait := s.backoff
	for attempt := 1; ; attempt++ {
		err = s.post(ctx, body, delivery)
		if err == nil || errors.Is(err, ErrRefused) || attempt == s.attempts {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("webhook: %w (after %d attempts: %w)", ctx.Err(), attempt, err)
		case <-time.After(wait):
		}
		wait *= 2
	}
}

func (s *Sender) post(ctx context.Context, body []byte, delivery string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("webhook: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Degreegate-Delivery", delivery)
	req.Header.Set("Degreegate-Signature", Sign(s.secret, s.now(), body))
	resp, err := s.client.Do(req)
	if err != nil {
		return fmt.Errorf("webhook: post: %w", err)
	}
	resp.Body.Close()
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return nil
	case resp.StatusCode >= 400 && resp.StatusCode < 500 && resp.StatusCode != http.StatusRequestTimeout && resp.StatusCode != http.StatusTooManyRequests:
		return fmt.Errorf("%w: %s", ErrRefused, resp.Status)
	}
	return fmt.Errorf("webhook: the endpoint answered %s", resp.Status)
}
