package token_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"time"

	"github.com/degreegate/degreegate/gateway/token"
)

// The dev issuer mints a token; a Verifier that trusts it answers who the
// caller is; a single-use route refuses the same token twice.
func Example() {
	ctx := context.Background()
	dev, err := token.NewDevIssuer()
	if err != nil {
		panic(err)
	}
	v, err := token.NewVerifier(ctx, dev.Config(), token.Options{})
	if err != nil {
		panic(err)
	}
	c := dev.Claims(token.AudienceAgency, "officer-1")
	c.Org = "demo-agency"
	c.Scope = "agency:verify"
	raw, err := dev.Mint(c, 10*time.Minute)
	if err != nil {
		panic(err)
	}

	p, err := v.Verify(ctx, raw)
	if err != nil {
		panic(err)
	}
	fmt.Println(p.Audience, p.Org, p.Scopes.Has("agency:verify"), p.Scopes.Has("office:approve"))

	replay := token.NewMemoryReplayCache(0, nil)
	fmt.Println(token.RequireFreshJTI(ctx, p, replay))
	err = token.RequireFreshJTI(ctx, p, replay)
	fmt.Println(errors.Is(err, token.ErrReplayed), errors.Is(err, token.ErrInvalidToken))

	_, err = v.Verify(ctx, raw[:len(raw)-4]+"AAAA")
	var te *token.Error
	fmt.Println(errors.As(err, &te), te.Code())
	// Output:
	// agency demo-agency true false
	// <nil>
	// true true
	// true bad_signature
}

// Receipts are compact JWS whose key is published as a JWK set.
func ExampleSigner() {
	// In serve the key comes from registry.LoadReceiptKey(keysDir).
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	s, err := token.NewSigner(priv)
	if err != nil {
		panic(err)
	}
	receipt, _ := s.Sign(map[string]string{"result": "match", "status": "valid"})
	set := s.JWKS()
	fmt.Println(len(set.Keys), set.Keys[0].Kid == s.KeyID(), set.Keys[0].Alg, len(receipt) > 0)
	// Output: 1 true EdDSA true
}
