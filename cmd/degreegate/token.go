package main

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/degreegate/degreegate/gateway/token"
)

// runToken mints one token with a given private key, for dev and tests:
// the gateway only ever verifies tokens, and an identity provider issues
// them in production. The token goes to stdout and nothing else does, so
// TOKEN=$(degreegate token ...) works.
func runToken(ctx context.Context, args []string, e env) error {
	fs := newFlags("token", e)
	keyPath := fs.String("key", "", "private key: the dev issuer's dev-issuer.jwk (from dev --state-dir), or a PEM file (PKCS #8, SEC 1 EC P-256, PKCS #1 RSA ≥ 2048 bits)")
	audience := fs.String("audience", "", "what the token identifies: agency, holder, contractor or office")
	iss := fs.String("iss", "", "issuer (default with dev-issuer.jwk: the dev issuer of --audience; required with a PEM key)")
	aud := fs.String("aud", "", "comma-separated aud values (default with dev-issuer.jwk: "+token.DevAudienceValue+"; required with a PEM key)")
	sub := fs.String("sub", "", "subject: the caller (an official's or officer's id)")
	scope := fs.String("scope", "", "space-separated scopes, e.g. 'degree.verify degree.verify.batch'")
	org := fs.String("org", "", "organisation, e.g. gov:example-bureau")
	idType := fs.String("id-type", "", "holder tokens: the holder's identity document type")
	idNumber := fs.String("id-number", "", "holder tokens: the holder's identity document number")
	ttl := fs.Duration("ttl", 15*time.Minute, "lifetime, at most 24h")
	jti := fs.String("jti", "", "token id (default: random)")
	if help, err := parse(fs, args); help || err != nil {
		return err
	}
	switch {
	case *keyPath == "":
		return usageError{"token: --key is required"}
	case !token.Audience(*audience).Valid():
		return usageError{"token: --audience must be agency, holder, contractor or office"}
	case *sub == "":
		return usageError{"token: --sub is required"}
	case *ttl <= 0 || *ttl > token.MaxLifetimeCap:
		return usageError{fmt.Sprintf("token: --ttl must be positive and at most %s", token.MaxLifetimeCap)}
	case (*idType == "") != (*idNumber == ""):
		return usageError{"token: --id-type and --id-number go together"}
	case token.Audience(*audience) == token.AudienceHolder && *idType == "":
		return usageError{"token: holder tokens need --id-type and --id-number"}
	case token.Audience(*audience) != token.AudienceHolder && *idType != "":
		return usageError{"token: only holder tokens carry --id-type and --id-number"}
	}
	minter, dev, err := loadMinter(*keyPath)
	if err != nil {
		return err
	}
	var c token.Claims
	c.Issuer, c.Subject, c.ID = *iss, *sub, *jti
	if *aud != "" {
		c.Audience = jwt.ClaimStrings(strings.Split(*aud, ","))
	}
	if dev != nil {
		d := dev.Claims(token.Audience(*audience), *sub)
		if c.Issuer == "" {
			c.Issuer = d.Issuer
		}
		if len(c.Audience) == 0 {
			c.Audience = d.Audience
		}
	}
	if c.Issuer == "" || len(c.Audience) == 0 {
		return usageError{"token: --iss and --aud are required with a PEM key"}
	}
	c.Scope, c.Org, c.IDType, c.IDNumber = *scope, *org, *idType, *idNumber
	tok, err := minter.Mint(c, *ttl)
	if err != nil {
		return fmt.Errorf("token: %w", err)
	}
	fmt.Fprintln(e.stdout, tok)
	return nil
}

// loadMinter reads a private key: the dev issuer's JWK (then dev is set,
// for its issuer names) or a PEM key. Errors name the file, never its
// content.
func loadMinter(path string) (*token.Minter, *token.DevIssuer, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("token: key: %w", err)
	}
	if strings.HasPrefix(strings.TrimSpace(string(b)), "{") {
		dev, err := token.LoadDevIssuer(path)
		if err != nil {
			return nil, nil, fmt.Errorf("token: %w", err)
		}
		return dev.Minter, dev, nil
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, nil, fmt.Errorf("token: key %s: neither a JWK nor PEM", path)
	}
	var key any
	switch blk.Type {
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(blk.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(blk.Bytes)
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(blk.Bytes)
	default:
		return nil, nil, fmt.Errorf("token: key %s: PEM block %q is not a private key", path, blk.Type)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("token: key %s: unreadable private key", path)
	}
	m, err := token.NewMinter(key)
	if err != nil {
		return nil, nil, fmt.Errorf("token: key %s: %w", path, err)
	}
	return m, nil, nil
}
