package gateway

import (
	"fmt"
	"testing"

	"github.com/valyala/fasthttp"
)

// BenchmarkPublicVerify drives POST /v1/verify through the whole Fiber
// stack in process (no network), a matching certificate number and name
// per request: what a match costs the gateway in CPU and allocations,
// receipt signing and auditing included. scripts/bench-gateway.sh
// measures the same route over loopback against a bare handler.
//
//	go test -run '^$' -bench PublicVerify -benchmem ./gateway/
func BenchmarkPublicVerify(b *testing.B) {
	f := newFixture(b, 2000, fixtureOptions{})
	handler := f.srv.App().Handler()
	bodies := make([][]byte, len(f.records))
	for i, r := range f.records {
		bodies[i] = fmt.Appendf(nil, `{"certificate_number":%q,"name":%q}`, r.CertificateNumber, r.Name)
	}
	var ctx fasthttp.RequestCtx
	i := 0
	for b.Loop() {
		ctx.Request.Reset()
		ctx.Response.Reset()
		ctx.Request.Header.SetMethod(fasthttp.MethodPost)
		ctx.Request.SetRequestURI("/v1/verify")
		ctx.Request.Header.SetContentType("application/json")
		ctx.Request.SetBody(bodies[i%len(bodies)])
		handler(&ctx)
		if ctx.Response.StatusCode() != fasthttp.StatusOK {
			b.Fatalf("status %d: %s", ctx.Response.StatusCode(), ctx.Response.Body())
		}
		i++
	}
}
