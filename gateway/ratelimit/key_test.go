package ratelimit

import (
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func TestKeys(t *testing.T) {
	tests := []struct {
		name     string
		a, b     Key
		same     bool
		identOfA string
	}{
		{"mapped IPv4 is IPv4", AddrKey(addr(t, "::ffff:192.0.2.1")), AddrKey(addr(t, "192.0.2.1")), true, "ip:192.0.2.1"},
		{"zone dropped", AddrKey(addr(t, "fe80::1%eth0")), AddrKey(addr(t, "fe80::1")), true, "ip:fe80::1"},
		{"two addresses", AddrKey(addr(t, "192.0.2.1")), AddrKey(addr(t, "192.0.2.2")), false, "ip:192.0.2.1"},
		{"IPv4 /24 block", BlockKey(addr(t, "192.0.2.1")), BlockKey(addr(t, "192.0.2.254")), true, "net:192.0.2.0/24"},
		{"next /24", BlockKey(addr(t, "192.0.2.1")), BlockKey(addr(t, "192.0.3.1")), false, "net:192.0.2.0/24"},
		{"mapped block", BlockKey(addr(t, "::ffff:192.0.2.9")), BlockKey(addr(t, "192.0.2.1")), true, "net:192.0.2.0/24"},
		{"IPv6 /64 block", BlockKey(addr(t, "2001:db8:1:2:aaaa::1")), BlockKey(addr(t, "2001:db8:1:2:ffff::2")), true, "net:2001:db8:1:2::/64"},
		{"next /64", BlockKey(addr(t, "2001:db8:1:2::1")), BlockKey(addr(t, "2001:db8:1:3::1")), false, "net:2001:db8:1:2::/64"},
		{"block is not address", BlockKey(addr(t, "192.0.2.0")), AddrKey(addr(t, "192.0.2.0")), false, "net:192.0.2.0/24"},
		{"certificate vs name", CertificateBlockKey("1000112345678901", addr(t, "192.0.2.1")), NameKey("1000112345678901"), false, "certnet:1000112345678901@192.0.2.0/24"},
		{"certificate in one /24", CertificateBlockKey("1000112345678901", addr(t, "192.0.2.1")), CertificateBlockKey(strings.Clone("1000112345678901"), addr(t, "::ffff:192.0.2.200")), true, "certnet:1000112345678901@192.0.2.0/24"},
		{"certificate from the next /24", CertificateBlockKey("1000112345678901", addr(t, "192.0.2.1")), CertificateBlockKey("1000112345678901", addr(t, "192.0.3.1")), false, "certnet:1000112345678901@192.0.2.0/24"},
		{"certificate in one IPv6 /48", CertificateBlockKey("1000112345678901", addr(t, "2001:db8:1:2::1")), CertificateBlockKey("1000112345678901", addr(t, "2001:db8:1:ffff::9")), true, "certnet:1000112345678901@2001:db8:1::/48"},
		{"certificate from the next /48", CertificateBlockKey("1000112345678901", addr(t, "2001:db8:1::1")), CertificateBlockKey("1000112345678901", addr(t, "2001:db8:2::1")), false, "certnet:1000112345678901@2001:db8:1::/48"},
		{"two certificates", CertificateBlockKey("1000112345678901", addr(t, "192.0.2.1")), CertificateBlockKey("1000112345678902", addr(t, "192.0.2.1")), false, "certnet:1000112345678901@192.0.2.0/24"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if (tt.a == tt.b) != tt.same {
				t.Errorf("a == b is %v, want %v", tt.a == tt.b, tt.same)
			}
			if got := tt.a.Ident(); got != tt.identOfA {
				t.Errorf("Ident = %q, want %q", got, tt.identOfA)
			}
		})
	}
}

func TestKeyPrintsNoPersonalData(t *testing.T) {
	k := CertificateBlockKey("1000112345678901", addr(t, "192.0.2.1"))
	var sb strings.Builder
	slog.New(slog.NewTextHandler(&sb, nil)).Info("limited", "key", k)
	for _, s := range []string{fmt.Sprint(k), fmt.Sprintf("%v %+v %s", k, k, k), sb.String()} {
		if strings.Contains(s, "1000112345678901") || strings.Contains(s, "192.0.2") {
			t.Errorf("printed key reveals its certificate number: %q", s)
		}
	}
}
