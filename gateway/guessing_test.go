package gateway

import (
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/degreegate/degreegate/gateway/ratelimit"
	"github.com/degreegate/degreegate/registry"
)

// guessingFixture is a gateway under the default policy's public limits,
// on a clock the test moves, behind a trusted proxy so that each request
// names its client.
func guessingFixture(t *testing.T) (*fixture, *testClock, func(from string, r registry.Record, name string) (int, string)) {
	t.Helper()
	clock := &testClock{now: time.Date(2026, 12, 8, 9, 0, 0, 0, time.UTC)}
	f := newFixture(t, 4, fixtureOptions{limiter: ratelimit.NewLocal(ratelimit.Options{Now: clock.Now}), proxies: "0.0.0.0/32"})
	ask := func(from string, r registry.Record, name string) (int, string) {
		resp := f.do(t, "POST", "/v1/verify", "application/json", verifyBody(r.CertificateNumber, name), "X-Forwarded-For", from)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		switch {
		case resp.StatusCode == 429:
			return 429, ""
		case resp.StatusCode != 200:
			t.Fatalf("verify from %s: %d %s", from, resp.StatusCode, b)
		case strings.Contains(string(b), `"result":"match"`):
			return 200, "match"
		}
		return 200, "no_match"
	}
	return f, clock, ask
}

// TestNoBlockStarvesACertificate (issue 16, item 1): the attack the
// review ran — 20 quick wrong names from one address, then one every
// 2 s — and the same from 100 other /24s at once, while an honest
// employer in another /24 checks the certificate every 7 s for 70 s. The
// employer must be answered every time (the goal was ≥ 95 %); before the
// allowance was per block and spent by wrong names only, 9 of 10 of its
// tries got 429.
func TestNoBlockStarvesACertificate(t *testing.T) {
	f, clock, ask := guessingFixture(t)
	x := f.records[0]
	attackers := []string{"203.0.113.1"}
	for i := range 100 {
		attackers = append(attackers, fmt.Sprintf("10.0.%d.7", i))
	}
	for range 20 {
		for _, a := range attackers {
			ask(a, x, "某人")
		}
	}
	answered, tries := 0, 0
	for s := 0; s <= 70; s += 2 {
		for _, a := range attackers {
			ask(a, x, "某人")
		}
		if s%7 == 0 && tries < 10 {
			tries++
			if code, result := ask("198.51.100.9", x, x.Name); code == 200 && result == "match" {
				answered++
			}
		}
		clock.advance(2 * time.Second)
	}
	if answered != tries {
		t.Errorf("the honest employer was answered %d times of %d under the attack", answered, tries)
	}
	// The attack itself was held: each of its blocks got the policy's
	// five wrong names, no more.
	if code, _ := ask("203.0.113.99", x, "某人"); code != 429 {
		t.Errorf("the attacker's block was still answered after 20 + 35 wrong names")
	}
	// And a wrong guess from the employer's block is answered: the
	// attack spent nothing of its allowance.
	if code, result := ask("198.51.100.10", x, "某人"); code != 200 || result != "no_match" {
		t.Errorf("a wrong name from the employer's block: %d %s", code, result)
	}
}

// TestAMatchSpendsNoAllowance: an employer who knows the name may check
// it as often as the per-address limit lets it; only wrong names count
// against the number, and the refusal, once they are spent, does not
// depend on whether the next name is right (it would tell the guesser
// when it got there).
func TestAMatchSpendsNoAllowance(t *testing.T) {
	f, clock, ask := guessingFixture(t)
	x := f.records[0]
	for i := range 60 {
		if code, result := ask("198.51.100.9", x, x.Name); code != 200 || result != "match" {
			t.Fatalf("check %d with the right name: %d %s", i+1, code, result)
		}
		clock.advance(time.Second)
	}
	wrong := 0
	for {
		code, _ := ask("198.51.100.9", x, "某人")
		if code == 429 {
			break
		}
		if wrong++; wrong > 100 {
			t.Fatal("wrong names were never refused")
		}
	}
	if wrong != 5 {
		t.Errorf("%d wrong names answered before the refusal, want the policy's 5", wrong)
	}
	if code, _ := ask("198.51.100.9", x, x.Name); code != 429 {
		t.Errorf("the right name after the allowance was spent: %d, want 429 like any other name", code)
	}
	// Another certificate from the same block is not affected.
	if code, result := ask("198.51.100.9", f.records[1], f.records[1].Name); code != 200 || result != "match" {
		t.Errorf("another certificate from the same block: %d %s", code, result)
	}
}

// TestGuessesPerCertificateAreBoundedByBlocks measures the bound the
// README states: over one hour, each address block gets the burst of
// five wrong names and one more every 2,000 s, however hard it tries. 20
// blocks try a wrong name every 30 s for an hour; 1,000 blocks would get
// fifty times as many (6,000–6,800 in the first hour, 1,800 an hour
// after).
func TestGuessesPerCertificateAreBoundedByBlocks(t *testing.T) {
	f, clock, ask := guessingFixture(t)
	x := f.records[0]
	const blocks = 20
	answered := 0
	for s := 0; s < 3600; s += 30 {
		for b := range blocks {
			if code, _ := ask(fmt.Sprintf("192.0.%d.1", b), x, fmt.Sprintf("某%d", s)); code == 200 {
				answered++
			}
		}
		clock.advance(30 * time.Second)
	}
	// 5 + 3600/2000 = 6.8 a block: 6 or 7 on whole tokens.
	if lo, hi := blocks*6, blocks*7; answered < lo || answered > hi {
		t.Errorf("%d wrong names answered to %d blocks in an hour, want %d–%d", answered, blocks, lo, hi)
	}
	t.Logf("%d wrong names answered to %d blocks in an hour: %.1f a block", answered, blocks, float64(answered)/blocks)
}
