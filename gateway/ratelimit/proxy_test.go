package ratelimit

import (
	"net"
	"net/netip"
	"strings"
	"testing"
)

func TestParseProxies(t *testing.T) {
	tests := []struct {
		spec    string
		ok      bool
		trusted []string
		not     []string
	}{
		{"", true, nil, []string{"10.0.0.1", "::1"}},
		{"10.0.0.0/8", true, []string{"10.9.9.9", "::ffff:10.1.1.1"}, []string{"11.0.0.1"}},
		{"10.0.0.0/8, 192.168.1.10\tfd00::/8\n", true, []string{"192.168.1.10", "fd12::1"}, []string{"192.168.1.11", "fe80::1"}},
		{"10.1.2.3/8", true, []string{"10.200.0.1"}, nil}, // host bits are masked
		{"::ffff:10.0.0.0/104", true, []string{"10.3.3.3"}, []string{"11.0.0.1"}},
		{"127.0.0.1,,::1", true, []string{"127.0.0.1", "::1"}, []string{"127.0.0.2"}},
		{"10.0.0.0/33", false, nil, nil},
		{"example.com", false, nil, nil},
		{"10.0.0.1/", false, nil, nil},
		{"fe80::1%eth0", false, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			p, err := ParseProxies(tt.spec)
			if (err == nil) != tt.ok {
				t.Fatalf("err = %v, want ok=%v", err, tt.ok)
			}
			if err != nil && strings.Contains(err.Error(), tt.spec) && tt.spec != "" {
				t.Errorf("error quotes the configuration value: %v", err)
			}
			for _, s := range tt.trusted {
				if !p.Trusted(addr(t, s)) {
					t.Errorf("%s not trusted", s)
				}
			}
			for _, s := range tt.not {
				if p.Trusted(addr(t, s)) {
					t.Errorf("%s trusted", s)
				}
			}
		})
	}
}

func TestClientAddr(t *testing.T) {
	p, err := ParseProxies("10.0.0.0/8, fd00::/8")
	if err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("10.0.0.1,", 100) + "10.0.0.2"
	tests := []struct {
		name, peer, xff, want string
	}{
		{"untrusted peer: header ignored", "203.0.113.5", "198.51.100.1", "203.0.113.5"},
		{"untrusted peer spoofing a proxy chain", "203.0.113.5", "198.51.100.1, 10.0.0.3", "203.0.113.5"},
		{"trusted peer, no header", "10.0.0.1", "", "10.0.0.1"},
		{"trusted peer", "10.0.0.1", "198.51.100.1", "198.51.100.1"},
		{"client-forged entries left of the real one", "10.0.0.1", "1.1.1.1, 2.2.2.2, 198.51.100.1", "198.51.100.1"},
		{"two trusted proxies", "10.0.0.1", "1.1.1.1, 198.51.100.1, 10.0.0.2", "198.51.100.1"},
		{"no spaces", "10.0.0.1", "1.1.1.1,198.51.100.1,10.0.0.2", "198.51.100.1"},
		{"IPv6 client", "fd00::1", "2001:db8::7", "2001:db8::7"},
		{"IPv6 proxy, IPv4 client", "fd00::1", "198.51.100.1, fd00::2", "198.51.100.1"},
		{"mapped peer", "::ffff:10.0.0.1", "198.51.100.1", "198.51.100.1"},
		{"mapped client", "10.0.0.1", "::ffff:198.51.100.1", "198.51.100.1"},
		{"client with port", "10.0.0.1", "198.51.100.1:5123", "198.51.100.1"},
		{"IPv6 client with port", "10.0.0.1", "[2001:db8::7]:5123", "2001:db8::7"},
		{"bracketed IPv6", "10.0.0.1", "[2001:db8::7]", "2001:db8::7"},
		{"garbage: keep the proxy", "10.0.0.1", "not-an-ip", "10.0.0.1"},
		{"unknown: keep the proxy", "10.0.0.1", "unknown", "10.0.0.1"},
		{"empty entry stops the walk", "10.0.0.1", "198.51.100.1,,10.0.0.2", "10.0.0.2"},
		{"trailing comma", "10.0.0.1", "198.51.100.1,", "10.0.0.1"},
		{"garbage left of the client is never read", "10.0.0.1", "<script>, 198.51.100.1", "198.51.100.1"},
		{"only proxies: leftmost", "10.0.0.1", "10.0.0.5, 10.0.0.2", "10.0.0.5"},
		{"over-long chain of proxies stops", "10.0.0.9", long, "10.0.0.1"},
		{"over-long entry", "10.0.0.1", strings.Repeat("1", 200), "10.0.0.1"},
		{"control characters", "10.0.0.1", "198.51.100.1\x00", "10.0.0.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := p.ClientAddr(addr(t, tt.peer), tt.xff)
			if got != addr(t, tt.want) {
				t.Fatalf("ClientAddr = %v, want %v", got, tt.want)
			}
		})
	}
	var nobody Proxies
	if got := nobody.ClientAddr(addr(t, "10.0.0.1"), "198.51.100.1"); got != addr(t, "10.0.0.1") {
		t.Fatalf("zero Proxies believed the header: %v", got)
	}
}

func TestPeerAddr(t *testing.T) {
	tests := []struct {
		in   net.Addr
		want netip.Addr
	}{
		{&net.TCPAddr{IP: net.ParseIP("192.0.2.1"), Port: 80}, netip.MustParseAddr("192.0.2.1")},
		{&net.TCPAddr{IP: net.ParseIP("::ffff:192.0.2.1"), Port: 80}, netip.MustParseAddr("192.0.2.1")},
		{&net.TCPAddr{IP: net.ParseIP("fe80::1"), Zone: "eth0"}, netip.MustParseAddr("fe80::1")},
		{&net.UDPAddr{IP: net.ParseIP("2001:db8::1")}, netip.MustParseAddr("2001:db8::1")},
		{&net.UnixAddr{Name: "/tmp/sock", Net: "unix"}, netip.Addr{}},
		{&net.IPAddr{IP: net.ParseIP("192.0.2.2")}, netip.MustParseAddr("192.0.2.2")},
		{nil, netip.Addr{}},
	}
	for _, tt := range tests {
		if got := PeerAddr(tt.in); got != tt.want {
			t.Errorf("PeerAddr(%v) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

// FuzzClientAddr checks the header parser's promises on any input: it
// never panics, an untrusted peer is never overridden, and the answer is
// either the peer or an address written in the header with only trusted
// proxies to its right.
func FuzzClientAddr(f *testing.F) {
	for _, s := range []string{
		"", "198.51.100.1", "1.1.1.1, 198.51.100.1, 10.0.0.2", "[2001:db8::7]:80", "unknown",
		",,,", "10.0.0.1,10.0.0.2", "fe80::1%eth0", "::ffff:10.0.0.1", " \t198.51.100.1 \t",
	} {
		f.Add(s, true)
		f.Add(s, false)
	}
	p, err := ParseProxies("10.0.0.0/8, fd00::/8")
	if err != nil {
		f.Fatal(err)
	}
	trustedPeer := netip.MustParseAddr("10.0.0.1")
	untrustedPeer := netip.MustParseAddr("203.0.113.5")
	f.Fuzz(func(t *testing.T, xff string, trusted bool) {
		peer := untrustedPeer
		if trusted {
			peer = trustedPeer
		}
		got := p.ClientAddr(peer, xff)
		if !trusted {
			if got != peer {
				t.Fatalf("untrusted peer overridden by the header: %v", got)
			}
			return
		}
		if got == peer {
			return
		}
		fields := strings.Split(xff, ",")
		for i := len(fields) - 1; i >= 0; i-- {
			a, ok := parseHop(fields[i])
			if !ok {
				t.Fatalf("walk passed a malformed entry %d to reach %v", i, got)
			}
			if a == got {
				return
			}
			if !p.Trusted(a) {
				t.Fatalf("walk passed the untrusted entry %d to reach %v", i, got)
			}
		}
		t.Fatalf("answer %v is neither the peer nor in the header", got)
	})
}

// FuzzParseProxies: any spec either fails cleanly or yields prefixes that
// trust their own base address.
func FuzzParseProxies(f *testing.F) {
	for _, s := range []string{"10.0.0.0/8", "::1", "fd00::/8, 192.168.0.1", "::ffff:10.0.0.0/104", "x", "1.2.3.4/99"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		p, err := ParseProxies(spec)
		if err != nil {
			if len(p.nets) != 0 {
				t.Fatal("error with a partial result")
			}
			return
		}
		for _, n := range p.nets {
			if !p.Trusted(n.Addr()) {
				t.Fatalf("prefix %v does not trust its own address", n)
			}
		}
	})
}
