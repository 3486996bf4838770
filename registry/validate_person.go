package registry

import (
	"strconv"
	"unicode"
)

// person checks Art. 9.1: who the holder is. Identity documents are in
// idnumber.go; dates (birth_date) in validate_dates.go.
func (c *checker) person() {
	r := c.r
	if c.required("name", r.Name) {
		c.personName("name", r.Name)
	}

	switch r.Gender {
	case GenderMale, GenderFemale:
	case "":
		c.required("gender", "")
	default:
		c.add("gender", CodeUnknownValue, "gender must be 1 (male) or 2 (female), GB/T 2261.1")
	}

	if c.required("nationality", r.Nationality) && !isAlpha3(r.Nationality) {
		c.add("nationality", CodeFormat, "nationality must be a GB/T 2659 alpha-3 code of three upper-case letters, such as CHN")
	}

	if c.required("ethnicity", r.Ethnicity) {
		switch n := twoDigits(r.Ethnicity); {
		case n < 0:
			c.add("ethnicity", CodeFormat, "ethnicity must be a two-digit GB/T 3304 code")
		case !(n >= 1 && n <= 56 || n == 97 || n == 98):
			// 01–56 are the 56 nationalities; 97 "other, not yet
			// identified", 98 "naturalised person of foreign origin".
			c.add("ethnicity", CodeUnknownValue, "ethnicity must be a GB/T 3304 code: 01–56, 97 or 98")
		}
	}

	if c.required("political_status", r.PoliticalStatus) {
		switch n := twoDigits(r.PoliticalStatus); {
		case n < 0:
			c.add("political_status", CodeFormat, "political_status must be a two-digit GB/T 4762 code")
		case n < 1 || n > 13:
			c.add("political_status", CodeUnknownValue, "political_status must be a GB/T 4762 code from 01 to 13")
		}
	}

	c.identity()

	if r.Phone != "" && !validMobile(r.Phone) {
		c.add("phone", CodeFormat, "phone must be a mainland mobile number: 11 digits starting 13–19, optionally after +86")
	}
	if r.Email != "" && !validEmail(r.Email) {
		c.add("email", CodeFormat, "email is not a valid address of the form local@domain.tld")
	}
	if r.PhotoRef != "" { // Art. 9.4: a reference to the electronic photo, not the photo
		c.text("photo_ref", r.PhotoRef, maxPhotoRef)
	}
}

func isAlpha3(s string) bool {
	return len(s) == 3 && isUpper(s[0]) && isUpper(s[1]) && isUpper(s[2])
}

// personName checks a normalised person name (NormalizeName): letters of
// any script with their combining marks, joined by single separators —
// '·' (the one interpunct 民委发〔2016〕33号 allows), a space, a hyphen or
// an apostrophe — and '.' after a letter for Latin initials ("J. Smith").
// Digits, symbols, private-use characters (pre-GB 18030-2022 workarounds
// for rare characters) and invisible format characters are refused; the
// message gives the position, never the character, as names are
// personal data.
func (c *checker) personName(field, s string) {
	if !c.text(field, s, maxPersonName) {
		return
	}
	const (
		atStart = iota
		afterLetter
		afterSep
		afterDot
	)
	state := atStart
	pos := 0
	for _, r := range s {
		pos++
		var ok bool
		switch {
		case isLetter(r):
			ok, state = true, afterLetter
		case unicode.IsMark(r): // a combining mark belongs to the letter before it
			ok = state == afterLetter
		case r == nameDot || r == ' ' || r == '-' || r == '\'':
			ok = state == afterLetter || state == afterDot && r == ' '
			state = afterSep
		case r == '.': // an initial: "J. Smith", "J.R.R. Tolkien"
			ok = state == afterLetter
			state = afterDot
		default:
			c.add(field, CodeFormat, field+" has a character that is not a letter or a name separator, at position "+strconv.Itoa(pos))
			return
		}
		if !ok {
			c.add(field, CodeFormat, field+" has a separator or mark without a letter before it, at position "+strconv.Itoa(pos))
			return
		}
	}
	if state == afterSep {
		c.add(field, CodeFormat, field+" ends with a separator")
	}
}

// validMobile accepts a mainland mobile number, 1[3-9] and nine more
// digits, optionally written with the +86 country prefix.
func validMobile(s string) bool {
	if len(s) == 14 && s[:3] == "+86" {
		s = s[3:]
	}
	return len(s) == 11 && s[0] == '1' && s[1] >= '3' && s[1] <= '9' && allDigits(s)
}

// validEmail is a deliberately plain check: an RFC 5321 dot-atom local
// part and a host name of at least two labels whose last is alphabetic
// (or an IDN A-label). Quoted local parts and address literals are legal
// but never seen in a registry, and refusing them keeps the rule simple.
func validEmail(s string) bool {
	if len(s) > 254 {
		return false
	}
	at := -1
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == '@' {
			at = i
			break
		}
	}
	if at < 1 || at > 64 || at == len(s)-1 {
		return false
	}
	return validLocalPart(s[:at]) && validHostName(s[at+1:])
}

func validLocalPart(s string) bool {
	prevDot := true // no leading dot
	for i := 0; i < len(s); i++ {
		b := s[i]
		switch {
		case b == '.':
			if prevDot {
				return false
			}
			prevDot = true
			continue
		case isASCIIAlnum(b):
		case b < 0x80 && b > ' ' && isAtextSymbol(b):
		default:
			return false
		}
		prevDot = false
	}
	return !prevDot
}

func isAtextSymbol(b byte) bool {
	switch b {
	case '!', '#', '$', '%', '&', '\'', '*', '+', '/', '=', '?', '^', '_', '`', '{', '|', '}', '~', '-':
		return true
	}
	return false
}

func validHostName(s string) bool {
	if len(s) > 253 {
		return false
	}
	labels, start := 0, 0
	for i := 0; i <= len(s); i++ {
		if i < len(s) && s[i] != '.' {
			b := s[i]
			if !isASCIIAlnum(b) && b != '-' {
				return false
			}
			continue
		}
		label := s[start:i]
		if len(label) == 0 || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		labels++
		if i == len(s) && !validTLD(label) {
			return false
		}
		start = i + 1
	}
	return labels >= 2
}

func validTLD(label string) bool {
	if len(label) > 4 && (label[:4] == "xn--" || label[:4] == "XN--") {
		return true
	}
	if len(label) < 2 {
		return false
	}
	for i := 0; i < len(label); i++ {
		if isDigit(label[i]) || label[i] == '-' {
			return false
		}
	}
	return true
}

// isLetter is unicode.IsLetter with a shortcut for the two blocks nearly
// every name is written in (BenchmarkValidate).
func isLetter(r rune) bool {
	switch {
	case 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || 0x4E00 <= r && r <= 0x9FFF:
		return true
	case r < 0x80:
		return false
	}
	return unicode.IsLetter(r)
}
