package main

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/degreegate/degreegate/gateway/token"
)

// runIssuer makes a test identity provider that serve can trust: the dev
// issuer's private key, its JWK set and a DEGREEGATE_TRUSTED_ISSUERS file
// naming it for every audience. It is what the compose stack uses to be
// tried end to end; production trusts real identity providers
// (docs/trusted-issuers.md).
func runIssuer(ctx context.Context, args []string, e env) error {
	if len(args) == 0 || args[0] != "init" {
		return usageError{"usage: degreegate issuer init --dir DIR"}
	}
	fs := newFlags("issuer init", e)
	dir := fs.String("dir", "", "folder for dev-issuer.jwk (kept when it exists), jwks.json and trusted-issuers.json")
	if help, err := parse(fs, args[1:]); help || err != nil {
		return err
	}
	if *dir == "" {
		return usageError{"issuer init: --dir is required"}
	}
	issuer, err := token.OpenDevIssuer(*dir)
	if err != nil {
		return fmt.Errorf("issuer init: %w", err)
	}
	if err := issuer.WriteFiles(*dir); err != nil {
		return fmt.Errorf("issuer init: %w", err)
	}
	fmt.Fprintf(e.stdout, "test issuer in %s: serve trusts it with DEGREEGATE_TRUSTED_ISSUERS=%s; mint tokens with degreegate token --key %s\n",
		*dir, filepath.Join(*dir, token.DevTrustedIssuersFile), filepath.Join(*dir, token.DevIssuerFile))
	fmt.Fprintln(e.stdout, "whoever holds dev-issuer.jwk mints tokens of every audience: for trying the stack only; production trusts real identity providers (docs/trusted-issuers.md)")
	return nil
}
