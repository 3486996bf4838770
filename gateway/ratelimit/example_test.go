package ratelimit_test

import (
	"context"
	"fmt"
	"math"
	"net"

	"github.com/degreegate/degreegate/gateway/ratelimit"
)

// The gateway's per-request steps: find the client behind the trusted
// proxies, then draw from the address, its block and the certificate
// number as asked from its block; the first refusal answers 429.
func Example() {
	proxies, err := ratelimit.ParseProxies("10.0.0.0/8") // DEGREEGATE_TRUSTED_PROXIES
	if err != nil {
		panic(err)
	}
	perAddr := ratelimit.Rule{Name: "verify-addr", Rate: 1, Burst: 2}
	perBlock := ratelimit.Rule{Name: "verify-block", Rate: 10, Burst: 20}
	perCert := ratelimit.Rule{Name: "verify-cert", Rate: 0.1, Burst: 3}
	lim := ratelimit.NewLocal(ratelimit.Options{})
	ctx := context.Background()

	peer := ratelimit.PeerAddr(&net.TCPAddr{IP: net.ParseIP("10.1.2.3"), Port: 50000})
	client := proxies.ClientAddr(peer, "203.0.113.1, 198.51.100.7")
	fmt.Println("client:", client)

	for i := range 3 {
		var d ratelimit.Decision
		for _, c := range []struct {
			k ratelimit.Key
			r ratelimit.Rule
		}{
			{ratelimit.AddrKey(client), perAddr},
			{ratelimit.BlockKey(client), perBlock},
			{ratelimit.CertificateBlockKey("1000112345678901", client), perCert},
		} {
			if d = lim.Allow(ctx, c.k, c.r); !d.Allowed {
				break
			}
		}
		// Headers carry whole seconds, rounded up.
		fmt.Printf("request %d: allowed=%v Retry-After: %.0f\n", i+1, d.Allowed, math.Ceil(d.RetryAfter.Seconds()))
	}
	// Output:
	// client: 198.51.100.7
	// request 1: allowed=true Retry-After: 0
	// request 2: allowed=true Retry-After: 0
	// request 3: allowed=false Retry-After: 1
}
