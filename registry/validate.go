package registry

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// CertificateRule says which certificate-number rule a record was checked
// against.
type CertificateRule string

const (
	// CertGB2016 is the national 16-digit structure: unit code (5), level
	// digit (1), conferral year (4), a number the unit assigns (6). It is
	// mandatory for degrees conferred from 2016 on.
	CertGB2016 CertificateRule = "gb2016"
	// CertLegacy is the looser pattern units used before 2016.
	CertLegacy CertificateRule = "legacy"
)

// Validation is the outcome of Validate: the certificate rule applied
// (empty when the number was missing or matched no rule) and every
// violation found, in a stable order.
type Validation struct {
	CertificateRule CertificateRule
	Violations      []Violation
}

// Err is nil when the record broke no rule, else an *InvalidError that
// wraps ErrInvalid.
func (v Validation) Err() error {
	if len(v.Violations) == 0 {
		return nil
	}
	return &InvalidError{Violations: v.Violations}
}

// Validate checks a normalised record (see Normalize) against every rule
// of Art. 9–10 and the public code formats, and returns all violations,
// not just the first, so a unit can fix a record in one round. today is
// the date "now" for the future-date rules; a zero today skips them.
//
// Validate never repairs a record (Art. 10: a record that breaks a rule is
// rejected with a reason) and never quotes personal data in a message. It
// runs once per imported row, so it allocates nothing for a valid record.
func Validate(r *Record, today Date) Validation {
	c := checker{r: r, today: today}
	c.person()
	c.degree()
	rule := c.certificate()
	c.kind()
	c.thesis()
	c.dates()
	c.status()
	return Validation{CertificateRule: rule, Violations: c.vs}
}

// checker collects the violations of one record.
type checker struct {
	r     *Record
	today Date
	vs    []Violation
}

func (c *checker) add(field, code, msg string) {
	c.vs = append(c.vs, Violation{Field: field, Code: code, Message: msg})
}

// Length limits, in characters (runes). Generous: they exist to keep
// garbage and pasted documents out, not to trim real data. Names follow
// 民委发〔2016〕33号, which asks systems to hold at least 50 characters.
const (
	maxPersonName   = 100
	maxShortText    = 100 // unit, discipline, category, style, study form, resolution numbers …
	maxThesisTitle  = 500
	maxKeyword      = 50
	maxKeywords     = 20
	maxReason       = 2000
	maxPhotoRef     = 512
	maxIdentifier   = 32 // student and application numbers
	maxOtherIDChars = 32
)

// blank reports whether s is empty or only white space. Unlike
// strings.TrimSpace it stops at the first other character, which for a
// real value is the first one.
func blank(s string) bool {
	for i := 0; i < len(s); {
		if b := s[i]; b < utf8.RuneSelf {
			if b != ' ' && (b < '\t' || b > '\r') {
				return false
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if !unicode.IsSpace(r) {
			return false
		}
		i += size
	}
	return true
}

// required records CodeRequired when s is blank and reports whether s is
// present.
func (c *checker) required(field, s string) bool {
	if blank(s) {
		c.add(field, CodeRequired, field+" is required")
		return false
	}
	return true
}

// text checks a free-text field: valid UTF-8, no control characters, at
// most max characters. Empty is fine here; required() is separate.
func (c *checker) text(field, s string, max int) bool {
	n := 0
	for i, r := range s {
		n++
		switch {
		case r < 0x20 || r >= 0x7f && r <= 0x9f || r == '\u2028' || r == '\u2029':
			c.add(field, CodeFormat, field+" contains a control character")
			return false
		case r == utf8.RuneError && !strings.HasPrefix(s[i:], "\uFFFD"):
			c.add(field, CodeFormat, field+" is not valid UTF-8")
			return false
		}
	}
	if n > max {
		c.add(field, CodeTooLong, field+" is longer than "+strconv.Itoa(max)+" characters")
		return false
	}
	return true
}

// identifier checks a unit-assigned number such as a student number:
// ASCII letters, digits and - _ / . only, at most maxIdentifier long.
func (c *checker) identifier(field, s string) {
	if len(s) > maxIdentifier {
		c.add(field, CodeTooLong, field+" is longer than "+strconv.Itoa(maxIdentifier)+" characters")
		return
	}
	for i := 0; i < len(s); i++ {
		if b := s[i]; !isASCIIAlnum(b) && b != '-' && b != '_' && b != '/' && b != '.' {
			c.add(field, CodeFormat, field+" may contain only letters, digits and - _ / .")
			return
		}
	}
}

func isDigit(b byte) bool      { return '0' <= b && b <= '9' }
func isUpper(b byte) bool      { return 'A' <= b && b <= 'Z' }
func isASCIIAlnum(b byte) bool { return isDigit(b) || isUpper(b) || 'a' <= b && b <= 'z' }

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return len(s) > 0
}

// twoDigits returns the value of a two-digit code, or -1.
func twoDigits(s string) int {
	if len(s) != 2 || !isDigit(s[0]) || !isDigit(s[1]) {
		return -1
	}
	return int(s[0]-'0')*10 + int(s[1]-'0')
}
