package ratelimit

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
)

// maxHops bounds how far into X-Forwarded-For ClientAddr reads, so a
// header of ten thousand entries costs no more than one of sixteen.
const maxHops = 16

// maxHopLen is longer than any address with a port and a zone an honest
// proxy writes; longer entries are not parsed at all.
const maxHopLen = 64

// Proxies is the set of reverse proxies whose X-Forwarded-For is believed
// (DEGREEGATE_TRUSTED_PROXIES). The zero value trusts nobody: the client
// address is always the TCP peer.
type Proxies struct {
	nets []netip.Prefix
}

// ParseProxies reads a list of CIDRs or single addresses separated by
// commas or white space, e.g. "10.0.0.0/8, 192.168.1.10 fd00::/8". An
// empty spec trusts nobody.
func ParseProxies(spec string) (Proxies, error) {
	var p Proxies
	fields := strings.FieldsFunc(spec, func(r rune) bool {
		return r == ',' || r == ' ' || r == '\t' || r == '\n' || r == '\r'
	})
	for i, f := range fields {
		var pre netip.Prefix
		if strings.Contains(f, "/") {
			var err error
			if pre, err = netip.ParsePrefix(f); err != nil {
				return Proxies{}, fmt.Errorf("trusted proxies: entry %d is not a CIDR", i+1)
			}
		} else {
			a, err := netip.ParseAddr(f)
			if err != nil {
				return Proxies{}, fmt.Errorf("trusted proxies: entry %d is not an address", i+1)
			}
			if a.Zone() != "" {
				// Peers are compared without zones; a zoned entry would
				// silently trust that address on every interface.
				return Proxies{}, fmt.Errorf("trusted proxies: entry %d has a zone", i+1)
			}
			pre = netip.PrefixFrom(a, a.BitLen())
		}
		// An IPv4-mapped prefix would never match, since peers are unmapped
		// before the check; store it as the IPv4 prefix it means.
		if a := pre.Addr(); a.Is4In6() && pre.Bits() >= 96 {
			pre = netip.PrefixFrom(a.Unmap(), pre.Bits()-96)
		}
		p.nets = append(p.nets, pre.Masked())
	}
	return p, nil
}

// Trusted reports whether a is one of the trusted proxies.
func (p Proxies) Trusted(a netip.Addr) bool {
	a = normalize(a)
	for _, n := range p.nets {
		if n.Contains(a) {
			return true
		}
	}
	return false
}

// ClientAddr is the address to limit and audit a request under. peer is
// the TCP peer; xff the X-Forwarded-For value (several header lines joined
// with "," in order). The header is read only when the peer is a trusted
// proxy, and then from the right: each trusted proxy appended the address
// it received the request from, so the first address from the right that
// is not a trusted proxy is the client. Everything to its left was written
// by the client and may be forged.
//
// A malformed entry stops the walk: nothing left of it can be believed, so
// the last well-formed hop (a trusted proxy) is the answer. ClientAddr
// never allocates for IPv4 and plain IPv6 entries.
func (p Proxies) ClientAddr(peer netip.Addr, xff string) netip.Addr {
	addr := normalize(peer)
	if len(p.nets) == 0 || !p.Trusted(addr) {
		return addr
	}
	rest := xff
	for hops := 0; hops < maxHops && rest != ""; hops++ {
		field := rest
		if i := strings.LastIndexByte(rest, ','); i >= 0 {
			field, rest = rest[i+1:], rest[:i]
		} else {
			rest = ""
		}
		a, ok := parseHop(field)
		if !ok {
			return addr
		}
		addr = a
		if !p.Trusted(a) {
			return a
		}
	}
	return addr
}

// parseHop reads one X-Forwarded-For entry: an address, optionally with a
// port ("192.0.2.1:4711", "[2001:db8::1]:4711"), surrounded by optional
// white space. Obfuscated identifiers and "unknown" are not addresses.
func parseHop(s string) (netip.Addr, bool) {
	s = strings.Trim(s, " \t")
	if s == "" || len(s) > maxHopLen {
		return netip.Addr{}, false
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return normalize(a), true
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return normalize(ap.Addr()), true
	}
	if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
		if a, err := netip.ParseAddr(s[1 : len(s)-1]); err == nil && a.Is6() {
			return normalize(a), true
		}
	}
	return netip.Addr{}, false
}

// PeerAddr is the address of a connection's remote end, as net.Conn or
// fasthttp's RemoteAddr report it; the zero Addr when it has none.
func PeerAddr(a net.Addr) netip.Addr {
	switch v := a.(type) {
	case *net.TCPAddr:
		return normalize(v.AddrPort().Addr())
	case *net.UDPAddr:
		return normalize(v.AddrPort().Addr())
	case nil:
		return netip.Addr{}
	}
	s := a.String()
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return normalize(ap.Addr())
	}
	if ad, err := netip.ParseAddr(s); err == nil {
		return normalize(ad)
	}
	return netip.Addr{}
}
