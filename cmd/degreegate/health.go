package main

import (
	"context"
	"fmt"
	"net/http"
	"time"
)

// runHealth asks a gateway whether it is ready (GET /readyz), for
// container health checks: the image has no shell and no curl.
func runHealth(ctx context.Context, args []string, e env) error {
	fs := newFlags("health", e)
	url := fs.String("url", "http://127.0.0.1:8080/readyz", "the gateway's readiness URL")
	timeout := fs.Duration("timeout", 3*time.Second, "how long to wait for the answer")
	if help, err := parse(fs, args); help || err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, *url, nil)
	if err != nil {
		return usageError{fmt.Sprintf("health: --url: %v", err)}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Fprintf(e.stdout, "not ready: %v\n", err)
		return errReported
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintf(e.stdout, "not ready: %s answered %s\n", *url, resp.Status)
		return errReported
	}
	fmt.Fprintf(e.stdout, "ready: %s\n", *url)
	return nil
}
