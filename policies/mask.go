package policies

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base32"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// Mask turns a field's value into what an audience may see. Every mask
// works on runes (it never splits a UTF-8 sequence; invalid bytes in the
// input count as U+FFFD), handles the empty string (→ ""), and promises a
// bound on how many characters of the original it returns, documented on
// each constant. A mask that cannot honour its promise for a value (a
// malformed date, a one-letter name) returns less, never more.
type Mask string

const (
	// MaskClear returns the value unchanged.
	MaskClear Mask = "clear"
	// MaskDrop returns nothing; the field is left out. Listing a field
	// with MaskDrop is the same as not listing it, but says so.
	MaskDrop Mask = "drop"
	// MaskName masks a person's name (see maskName for every rule):
	// Chinese names keep the surname and, for given names of two or more
	// characters, the last one (张三丰 → 张*丰, 张三 → 张*, 欧阳娜娜 → 欧阳*娜);
	// names with a middle dot keep the first character of the first and
	// of the last part (阿依古丽·买买提 → 阿***·买**); other names keep
	// the initial of each word (John Smith → J*** S****). At most three
	// characters of a Chinese name, two of a dotted name, one per word of
	// others; never the whole name.
	MaskName Mask = "name"
	// MaskInitial keeps the first letter or digit and one star, hiding
	// the length (张三丰 → 张*); a value with a single letter becomes "*".
	// At most one character.
	MaskInitial Mask = "initial"
	// MaskIDNumber keeps the ends of an identity-document number and stars
	// the middle, preserving its length: 15 characters or more keep the
	// first 3 and the last 2 (110105199003071234 → 110*************34),
	// so the region prefix shows but never the birth date; 8–14 keep the
	// first 1 and last 2; 4–7 keep the last 1; shorter ones are all stars.
	MaskIDNumber Mask = "id_number"
	// MaskPhone keeps only digits: with 11 or more, the last 11 are taken
	// as the mobile number and show their first 3 and last 4
	// (+86 138 0013 8000 → 138****8000); with 7–10, the last 4; with
	// fewer, none. At most 7 digits.
	MaskPhone Mask = "phone"
	// MaskEmail keeps the first character of the local part, three stars
	// whatever its length, and the domain (zhangsan@example.com →
	// z***@example.com). At most 1 + the domain's characters.
	MaskEmail Mask = "email"
	// MaskDateYear reduces YYYY, YYYY-MM or YYYY-MM-DD to YYYY; anything
	// else to "". At most 4 characters.
	MaskDateYear Mask = "date_year"
	// MaskDateYearMonth reduces YYYY-MM or YYYY-MM-DD to YYYY-MM; anything
	// else to "". At most 7 characters.
	MaskDateYearMonth Mask = "date_year_month"
	// MaskKeyedHash replaces the value by a pseudonym: HMAC-SHA256 under a
	// key the caller supplies at run time (ApplyOptions.HashKey; never in
	// the policy file), first 120 bits, base32 lower case, 24 characters.
	// The same value under the same key gives the same pseudonym; without
	// the key it reveals nothing. Derive a key per use (per dataset, per
	// consumer) so pseudonyms from two uses cannot be joined.
	MaskKeyedHash Mask = "keyed_hash"
)

// MinHashKeyLen is the shortest key MaskKeyedHash accepts, in bytes.
const MinHashKeyLen = 16

// Masks lists every mask a policy may name.
func Masks() []Mask {
	return []Mask{MaskClear, MaskDrop, MaskName, MaskInitial, MaskIDNumber,
		MaskPhone, MaskEmail, MaskDateYear, MaskDateYearMonth, MaskKeyedHash}
}

// Known reports whether m is in Masks.
func (m Mask) Known() bool {
	for _, k := range Masks() {
		if m == k {
			return true
		}
	}
	return false
}

// fits reports whether the mask makes sense for a field of kind k: date
// masks parse the value, so they apply to dates and months only.
func (m Mask) fits(k FieldKind) bool {
	switch m {
	case MaskDateYear, MaskDateYearMonth:
		return k == KindDate || k == KindMonth
	}
	return true
}

// ApplyOptions carries what masks need at run time and a policy file must
// never hold.
type ApplyOptions struct {
	// HashKey keys MaskKeyedHash; at least MinHashKeyLen bytes.
	HashKey []byte
}

// Apply masks one value. It fails only for an unknown mask or a
// MaskKeyedHash without a usable key; errors never quote the value.
func (m Mask) Apply(value string, opts ApplyOptions) (string, error) {
	if !utf8.ValidString(value) {
		value = strings.ToValidUTF8(value, "\uFFFD")
	}
	switch m {
	case MaskClear:
		return value, nil
	case MaskDrop:
		return "", nil
	case MaskName:
		return maskName(value), nil
	case MaskInitial:
		return maskInitial(value), nil
	case MaskIDNumber:
		return maskIDNumber(value), nil
	case MaskPhone:
		return maskPhone(value), nil
	case MaskEmail:
		return maskEmail(value), nil
	case MaskDateYear:
		return maskDate(value, 4), nil
	case MaskDateYearMonth:
		return maskDate(value, 7), nil
	case MaskKeyedHash:
		if len(opts.HashKey) < MinHashKeyLen {
			return "", fmt.Errorf("policy: mask %q: %w", m, ErrHashKey)
		}
		return keyedHash(value, opts.HashKey), nil
	}
	return "", fmt.Errorf("policy: unknown mask %q", m)
}

func stars(n int) string {
	if n <= 0 {
		return ""
	}
	return strings.Repeat("*", n)
}

func maskInitial(s string) string {
	rs := []rune(s)
	switch n := countLetters(rs); {
	case n == 0:
		return ""
	case n == 1:
		return "*" // the one letter would be the whole value
	}
	i := slices.IndexFunc(rs, isNameLetter)
	return string(rs[i]) + "*"
}

func maskIDNumber(s string) string {
	rs := []rune(strings.TrimSpace(s))
	n := len(rs)
	head, tail := 0, 0
	switch {
	case n >= 15:
		head, tail = 3, 2
	case n >= 8:
		head, tail = 1, 2
	case n >= 4:
		tail = 1
	}
	var b strings.Builder
	b.WriteString(string(rs[:head]))
	b.WriteString(stars(n - head - tail))
	b.WriteString(string(rs[n-tail:]))
	return b.String()
}

func maskPhone(s string) string {
	digits := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= '0' && c <= '9' {
			digits = append(digits, c)
		}
	}
	n := len(digits)
	switch {
	case n >= 11:
		d := digits[n-11:] // a country prefix (86, 0086) is not part of what is shown
		return string(d[:3]) + "****" + string(d[7:])
	case n >= 7:
		return stars(n-4) + string(digits[n-4:])
	}
	return stars(n)
}

func maskEmail(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	local, domain, hasAt := s, "", false
	if i := strings.LastIndexByte(s, '@'); i >= 0 { // the last @: a quoted local part may hold one
		local, domain, hasAt = s[:i], s[i+1:], true
	}
	var b strings.Builder
	if r, size := utf8.DecodeRuneInString(local); size > 0 {
		b.WriteRune(r)
	}
	b.WriteString("***")
	if hasAt {
		b.WriteByte('@')
		b.WriteString(domain)
	}
	return b.String()
}

// maskDate keeps the first keep bytes (4: YYYY, 7: YYYY-MM) of a value
// shaped YYYY, YYYY-MM or YYYY-MM-DD, and returns "" for any other value
// or when the value is shorter than what is kept.
func maskDate(s string, keep int) string {
	const shape = "dddd-dd-dd"
	if len(s) != 4 && len(s) != 7 && len(s) != 10 || len(s) < keep {
		return ""
	}
	for i := 0; i < len(s); i++ {
		if shape[i] == 'd' && (s[i] < '0' || s[i] > '9') || shape[i] == '-' && s[i] != '-' {
			return ""
		}
	}
	return s[:keep]
}

func keyedHash(value string, key []byte) string {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(value))
	sum := mac.Sum(nil)
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(sum[:15]))
}
