package ratelimit

import (
	"log/slog"
	"net/netip"
	"strconv"
)

// kind says what a Key counts, so that an address and a certificate number
// that happen to read alike never share a bucket.
type kind uint8

const (
	kindAddr kind = iota + 1
	kindBlock
	kindCertificateBlock
	kindName
)

func (k kind) String() string {
	switch k {
	case kindAddr:
		return "ip"
	case kindBlock:
		return "net"
	case kindCertificateBlock:
		return "certnet"
	case kindName:
		return "id"
	}
	return "none"
}

// Key names whose bucket a request draws from. It is a comparable value
// built without allocating (an address is kept as netip.Addr, not as
// text), so looking a key up on the refusal path costs no garbage.
//
// Keys hold personal data (client addresses, certificate numbers): String
// and LogValue print only the kind; Ident gives the full identity for the
// shared store.
type Key struct {
	kind kind
	addr netip.Addr
	text string
}

// AddrKey counts per client address. IPv4-mapped IPv6 addresses count as
// their IPv4 address, and zones are dropped, so one client cannot appear
// under two keys. The zero Addr (an unknown peer) is a key of its own that
// every unknown peer shares.
func AddrKey(a netip.Addr) Key {
	return Key{kind: kindAddr, addr: normalize(a)}
}

// BlockKey counts per address block: the IPv4 /24 or the IPv6 /64 around
// a. A /64 is what one IPv6 subscriber is usually given, so limiting per
// address alone would let one household try 2^64 addresses.
func BlockKey(a netip.Addr) Key {
	a = normalize(a)
	bits := 64
	if a.Is4() {
		bits = 24
	}
	if p, err := a.Prefix(bits); err == nil {
		a = p.Addr()
	}
	return Key{kind: kindBlock, addr: a}
}

// CertificateBlockKey counts per certificate number asked from one
// address block: the IPv4 /24 or the IPv6 /48 around a. Each block has
// its own allowance for a number, so that no block can spend another's
// (a certificate-wide one let one client keep a number at 429 for
// everyone), while an attacker's guesses grow only with the blocks they
// hold. IPv6 counts per /48, wider than BlockKey's /64: a site is often
// given a /48, and 65,536 allowances per site would make the bound
// meaningless. The number may alias a request buffer: the limiter
// copies it before keeping it.
func CertificateBlockKey(number string, a netip.Addr) Key {
	a = normalize(a)
	if p, err := a.Prefix(certBlockBits(a)); err == nil {
		a = p.Addr()
	}
	return Key{kind: kindCertificateBlock, addr: a, text: number}
}

func certBlockBits(a netip.Addr) int {
	if a.Is4() {
		return 24
	}
	return 48
}

// NameKey counts per any other identity the gateway limits by (an
// organisation, a token subject). Like CertificateBlockKey, it copies before
// keeping.
func NameKey(id string) Key {
	return Key{kind: kindName, text: id}
}

// Ident is the key's full identity, e.g. "ip:192.0.2.1", "net:192.0.2.0/24"
// or "cert:10001...". It contains personal data: use it to name shared
// state, never in logs or errors.
func (k Key) Ident() string {
	switch k.kind {
	case kindAddr:
		return "ip:" + k.addr.String()
	case kindBlock:
		bits := 64
		if k.addr.Is4() {
			bits = 24
		}
		return "net:" + k.addr.String() + "/" + strconv.Itoa(bits)
	case kindName:
		return k.kind.String() + ":" + k.text
	case kindCertificateBlock:
		return "certnet:" + k.text + "@" + k.addr.String() + "/" + strconv.Itoa(certBlockBits(k.addr))
	}
	return "none:"
}

// String prints the kind only, so that a key formatted by mistake leaks
// nothing.
func (k Key) String() string { return "ratelimit.Key(" + k.kind.String() + ")" }

// LogValue logs the kind only.
func (k Key) LogValue() slog.Value { return slog.StringValue(k.kind.String()) }

// normalize makes the two spellings of one IPv4 client (plain and
// IPv4-mapped IPv6) and zoned link-local addresses one key.
func normalize(a netip.Addr) netip.Addr {
	return a.Unmap().WithZone("")
}
