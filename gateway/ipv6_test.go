package gateway

import (
	"context"
	"crypto/rand"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/degreegate/degreegate/gateway/ratelimit"
	"github.com/degreegate/degreegate/policies"
)

// TestPublicLimitsGroupIPv6By64 sends public verifications over real
// TCP connections from many IPv6 source addresses: a random ULA /48 is
// routed to the loopback for the test (AnyIP: every address in it is
// local), so each request can come from an address of its own. One
// subscriber's /64 shares the block allowance however many addresses it
// uses; addresses in different /64s do not share it.
func TestPublicLimitsGroupIPv6By64(t *testing.T) {
	var global [5]byte
	rand.Read(global[:])
	prefix := netip.PrefixFrom(netip.AddrFrom16([16]byte{0xfd, global[0], global[1], global[2], global[3], global[4]}), 48)
	if out, err := exec.Command("ip", "-6", "route", "add", "local", prefix.String(), "dev", "lo").CombinedOutput(); err != nil {
		if strings.Contains(string(out), "Operation not permitted") {
			t.Skipf("routing a test prefix to the loopback needs CAP_NET_ADMIN: %s", out)
		}
		t.Fatalf("ip -6 route add local %s dev lo: %v %s", prefix, err, out)
	}
	t.Cleanup(func() { exec.Command("ip", "-6", "route", "del", "local", prefix.String(), "dev", "lo").Run() })

	f := newFixture(t, 10, fixtureOptions{limiter: ratelimit.NewLocal(ratelimit.Options{})})
	ln, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.srv.Serve(ctx, ln, time.Second) }()
	t.Cleanup(func() { cancel(); <-done })
	url := "http://" + ln.Addr().String() + "/v1/verify"

	// from sends one verification of an unknown number (its own, so that
	// the per-certificate allowance never counts) from src.
	n := 0
	from := func(src netip.Addr) int {
		n++
		client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
			DialContext:       (&net.Dialer{LocalAddr: &net.TCPAddr{IP: src.AsSlice()}, Control: freebind}).DialContext,
			DisableKeepAlives: true,
		}}
		resp, err := client.Post(url, "application/json", strings.NewReader(verifyBody(fmt.Sprintf("10%014d", 90000000+n), "无此人")))
		if err != nil {
			t.Fatalf("from %s: %v", src, err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	addr := func(subnet uint16, host uint64) netip.Addr {
		b := prefix.Addr().As16()
		b[6], b[7] = byte(subnet>>8), byte(subnet)
		for i := range 8 {
			b[15-i] = byte(host >> (8 * i))
		}
		return netip.AddrFrom16(b)
	}
	rules := f.srv.deps.Policy.Limits(policies.Public)
	block := rules.PerBlock.Burst
	if block == 0 || rules.PerClient.Burst == 0 {
		t.Fatal("the policy sets no public per-client or per-block limit")
	}

	// One /64, a fresh address per request: the block's allowance, then 429.
	start := time.Now()
	ok, limited := 0, 0
	for i := range block + 50 {
		switch st := from(addr(1, uint64(i)+1)); st {
		case 200:
			ok++
		case 429:
			limited++
		default:
			t.Fatalf("status %d", st)
		}
	}
	refill := int(rules.PerBlock.PerSecond*time.Since(start).Seconds()) + 1
	if limited == 0 || ok < block || ok > block+refill {
		t.Errorf("one /64, %d addresses: %d answered, %d limited; want the block's %d (+%d refilled) answered, the rest limited",
			block+50, ok, limited, block, refill)
	}

	// As many addresses, each in a /64 of its own: none limited.
	for i := range block + 50 {
		if st := from(addr(uint16(100+i), 1)); st != 200 {
			t.Fatalf("address %d in a /64 of its own: status %d", i, st)
		}
	}
}

// freebind lets a socket bind to an address of the test's prefix: the
// local route delivers its packets, but Linux binds only to configured
// addresses without IP_FREEBIND (which covers IPv6 since Linux 4.15).
func freebind(_, _ string, c syscall.RawConn) error {
	var serr error
	err := c.Control(func(fd uintptr) { serr = syscall.SetsockoptInt(int(fd), syscall.SOL_IP, syscall.IP_FREEBIND, 1) })
	if err != nil {
		return err
	}
	return serr
}
