package main

import (
	"bytes"
	"context"
	"net"
	"strings"
	"testing"
	"time"
)

// TestRevokeStopsRetryingWhenInterrupted: revoke records the revocation,
// then retries its broadcast; interrupted (Ctrl-C, a deadline) while
// Redis hangs, it stops at once and says what happened and how to
// repair it, instead of sleeping through its remaining attempts.
func TestRevokeStopsRetryingWhenInterrupted(t *testing.T) {
	f := newServeFixture(t, 5)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// A Redis that accepts and never answers: the broadcast's first
	// connection is the moment to interrupt.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
			cancel()
		}
	}()
	vars := map[string]string{}
	for _, kv := range f.env {
		k, v, _ := strings.Cut(kv, "=")
		vars[k] = v
	}
	vars["REDIS_URL"] = "redis://" + ln.Addr().String() + "/0"
	var out, errb bytes.Buffer
	start := time.Now()
	err = run(ctx, []string{"revoke", f.records[0].CertificateNumber, "--resolution", "R-2026-1", "--reason", "test",
		"--on", time.Now().Format(time.DateOnly)}, mapEnv(vars), nil, &out, &errb)
	if err == nil || !strings.Contains(err.Error(), "interrupted before the broadcast") {
		t.Fatalf("revoke interrupted during its broadcast: %v\n%s\n%s", err, out.String(), errb.String())
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("revoke took %s", took)
	}
}
