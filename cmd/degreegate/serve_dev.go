package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/degreegate/degreegate/gateway"
	"github.com/degreegate/degreegate/registry"
)

// serveDev runs the gateway over the embedded store until ctx ends.
func serveDev(ctx context.Context, addr string, store registry.Store, e env) error {
	log := slog.New(slog.NewJSONHandler(e.stderr, nil))
	srv := gateway.New(gateway.Deps{
		Logger: log,
		Ready: func(ctx context.Context) error {
			_, err := store.Count(ctx)
			return err
		},
	})
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("dev: listen: %w", err)
	}
	fmt.Fprintf(e.stdout, "listening on http://%s\n  curl -s http://%s/healthz\n  curl -s http://%s/readyz\n", ln.Addr(), ln.Addr(), ln.Addr())
	return srv.Serve(ctx, ln, 10*time.Second)
}
