package registry

import (
	"errors"
	"strings"
	"time"
)

// ResidentIDCheckChar returns the GB 11643-1999 check character ('0'–'9'
// or 'X') for the first 17 digits of a citizen identity number: ISO 7064
// MOD 11-2, so that Σ aᵢ·2^(18−i) over all 18 positions ≡ 1 (mod 11), with
// X standing for 10. The error never quotes the input, which is personal.
func ResidentIDCheckChar(first17 string) (byte, error) {
	if len(first17) != 17 {
		return 0, errors.New("resident ID check character: need exactly 17 digits")
	}
	// Horner's rule: s = Σ dᵢ·2^(17−i) mod 11 without a weight table.
	s := 0
	for i := 0; i < 17; i++ {
		b := first17[i]
		if !isDigit(b) {
			return 0, errors.New("resident ID check character: the first 17 characters must be digits")
		}
		s = (s + int(b-'0')) * 2 % 11
	}
	return "10X98765432"[s], nil
}

// NormalizeIDNumber is the canonical form of an identity-document number,
// the one the blind index is computed over: trimmed, and for the document
// types whose numbers are upper-case ASCII by definition, full-width
// characters folded to ASCII (a common artefact of Chinese input methods)
// and letters upper-cased (a resident ID's check 'x'). Numbers of type
// "other" are only trimmed: their case may matter.
func NormalizeIDNumber(t IDType, s string) string {
	s = trim(s)
	switch t {
	case IDResident, IDPassport, IDHKMacaoPermit, IDTaiwanPermit, IDForeignPermanent:
	default:
		return s
	}
	return upperASCII(s)
}

// ValidIDNumber reports whether a normalised number has the shape of its
// document type, with a correct check character where the type has one.
// It checks the number alone; Validate also compares it with the rest of
// the record (birth date, gender, nationality). An unknown type or an
// empty number is not valid.
func ValidIDNumber(t IDType, number string) bool {
	switch t {
	case IDResident, IDPassport, IDHKMacaoPermit, IDTaiwanPermit, IDForeignPermanent, IDOther:
	default:
		return false
	}
	if blank(number) {
		return false
	}
	c := checker{r: &Record{IDType: t, IDNumber: number}}
	c.idNumber(false)
	return len(c.vs) == 0
}

// identity checks id_type, id_number and how they fit the rest of the
// person.
func (c *checker) identity() {
	r := c.r
	known := false
	switch r.IDType {
	case IDResident, IDPassport, IDHKMacaoPermit, IDTaiwanPermit, IDForeignPermanent, IDOther:
		known = true
	case "":
		c.required("id_type", "")
	default:
		c.add("id_type", CodeUnknownValue, "id_type must be one of resident_id, passport, hk_macao_permit, taiwan_permit, foreign_permanent_id, other")
	}
	if c.required("id_number", r.IDNumber) && known {
		c.idNumber(true)
	}
	if known && isAlpha3(r.Nationality) && !nationalityFitsID(r.IDType, r.Nationality) {
		c.add("nationality", CodeMismatch, "nationality does not fit id_type: resident IDs and travel permits are held by Chinese nationals (CHN, HKG, MAC, TWN), foreign permanent-residence IDs by foreigners")
	}
}

// nationalityFitsID: a resident ID (or the GB 11643-format residence
// permit of a Hong Kong, Macao or Taiwan resident) is held by a Chinese
// national; so are the home-return and Taiwan compatriot permits; a foreign
// permanent-residence ID never is. Passports and "other" fit anyone.
func nationalityFitsID(t IDType, nat string) bool {
	switch t {
	case IDResident:
		return nat == "CHN" || nat == "HKG" || nat == "MAC" || nat == "TWN"
	case IDHKMacaoPermit:
		return nat == "CHN" || nat == "HKG" || nat == "MAC"
	case IDTaiwanPermit:
		return nat == "CHN" || nat == "TWN"
	case IDForeignPermanent:
		return nat != "CHN" && nat != "HKG" && nat != "MAC" && nat != "TWN"
	}
	return true
}

// idNumber checks the number against its type; cross compares it with
// birth_date, gender and nationality as well.
func (c *checker) idNumber(cross bool) {
	n := c.r.IDNumber
	switch c.r.IDType {
	case IDResident:
		c.residentID(n, cross)
	case IDForeignPermanent:
		c.foreignPermanentID(n, cross)
	case IDPassport:
		if !validPassport(n) {
			c.add("id_number", CodeFormat, "a passport number must be 5 to 17 upper-case letters and digits, with at least one digit")
		}
	case IDHKMacaoPermit:
		if !validHKMacaoPermit(n) {
			c.add("id_number", CodeFormat, "a home-return permit number must be H or M followed by 8 or 10 digits")
		}
	case IDTaiwanPermit:
		if !validTaiwanPermit(n) {
			c.add("id_number", CodeFormat, "a Taiwan compatriot permit number must be 8 digits, or 10 digits optionally followed by an issuing-office code in parentheses")
		}
	case IDOther:
		if c.text("id_number", n, maxOtherIDChars) && strings.ContainsFunc(n, isSpaceRune) {
			c.add("id_number", CodeFormat, "id_number may not contain spaces")
		}
	}
}

func isSpaceRune(r rune) bool { return r == ' ' || r == '\u3000' || r == '\u00A0' }

// residentID checks a GB 11643-1999 citizen identity number: six-digit
// address code, eight-digit birth date, three-digit sequence (odd for
// men), check character. Hong Kong, Macao and Taiwan residents' residence
// permits (2018) use the same form with address codes 81, 82, 83.
func (c *checker) residentID(n string, cross bool) {
	if len(n) == 15 && allDigits(n) {
		c.add("id_number", CodeFormat, "15-digit first-generation resident IDs must be given in their 18-character form")
		return
	}
	if !gb11643Shape(n) {
		c.add("id_number", CodeFormat, "a resident ID must be 17 digits followed by a check character 0–9 or X")
		return
	}
	if !isProvinceCode(twoDigits(n[:2])) {
		c.add("id_number", CodeUnknownValue, "the first two digits of id_number are not a province code of GB/T 2260")
	}
	c.gb11643Tail(n, cross)
	if cross && (c.r.Gender == GenderMale || c.r.Gender == GenderFemale) {
		male := (n[16]-'0')%2 == 1
		if male != (c.r.Gender == GenderMale) {
			c.add("id_number", CodeMismatch, "digit 17 of id_number (odd for men, even for women) does not match gender")
		}
	}
}

// gb11643Tail checks what resident IDs and the 2023 foreign
// permanent-residence IDs share: the birth date in characters 7–14 and
// the MOD 11-2 check character.
func (c *checker) gb11643Tail(n string, cross bool) {
	if birth, ok := compactDate(n[6:14]); !ok {
		c.add("id_number", CodeFormat, "characters 7–14 of id_number are not a real date")
	} else if cross && realDate(c.r.BirthDate) && birth != c.r.BirthDate {
		c.add("id_number", CodeMismatch, "the birth date in id_number (characters 7–14) does not match birth_date")
	}
	if want, err := ResidentIDCheckChar(n[:17]); err != nil || want != n[17] {
		c.add("id_number", CodeCheckDigit, "the check character of id_number is wrong")
	}
}

func gb11643Shape(n string) bool {
	return len(n) == 18 && allDigits(n[:17]) && (isDigit(n[17]) || n[17] == 'X')
}

// foreignPermanentID checks both forms of the foreign permanent-residence
// ID: the 15-character one (three-letter country code + 12 digits) issued
// until November 2023, and the 18-character one since 1 December 2023:
// '9', two-digit province of issue, three-digit numeric country code,
// birth date, sequence, MOD 11-2 check character.
func (c *checker) foreignPermanentID(n string, cross bool) {
	switch {
	case len(n) == 15 && isAlpha3(n[:3]) && allDigits(n[3:]):
		if cross && isAlpha3(c.r.Nationality) && n[:3] != c.r.Nationality {
			c.add("id_number", CodeMismatch, "the country letters of id_number do not match nationality")
		}
	case len(n) == 18 && n[0] == '9' && gb11643Shape(n):
		if !isProvinceCode(twoDigits(n[1:3])) || twoDigits(n[1:3]) >= 71 {
			c.add("id_number", CodeUnknownValue, "characters 2–3 of id_number are not a mainland province code")
		}
		c.gb11643Tail(n, cross)
	default:
		c.add("id_number", CodeFormat, "a foreign permanent-residence ID must be 3 letters and 12 digits, or 18 characters starting with 9")
	}
}

// isProvinceCode: the province-level codes of GB/T 2260 (11–65), Taiwan
// (71), Hong Kong (81), Macao (82), 83, which the residence permits of
// Taiwan residents use, and 91, which the project's rules admit although
// GB/T 2260 gives it to no province.
func isProvinceCode(p int) bool {
	switch {
	case 11 <= p && p <= 15, 21 <= p && p <= 23, 31 <= p && p <= 37,
		41 <= p && p <= 46, 50 <= p && p <= 54, 61 <= p && p <= 65:
		return true
	}
	return p == 71 || p == 81 || p == 82 || p == 83 || p == 91
}

// compactDate reads YYYYMMDD.
func compactDate(s string) (Date, bool) {
	if len(s) != 8 || !allDigits(s) {
		return Date{}, false
	}
	y := int(s[0]-'0')*1000 + int(s[1]-'0')*100 + int(s[2]-'0')*10 + int(s[3]-'0')
	m := twoDigits(s[4:6])
	d := twoDigits(s[6:8])
	if y < 1 || m < 1 || m > 12 || d < 1 || d > monthDays(y, time.Month(m)) {
		return Date{}, false
	}
	return NewDate(y, time.Month(m), d), true
}

// validPassport: ICAO 9303 document numbers are upper-case letters and
// digits (nine in the machine-readable zone, more through its overflow);
// Chinese passports are E, G, P, S or D with 8 characters. 5–17 with a
// digit covers every issuer we know without admitting words.
func validPassport(n string) bool {
	if len(n) < 5 || len(n) > 17 {
		return false
	}
	digit := false
	for i := 0; i < len(n); i++ {
		switch b := n[i]; {
		case isDigit(b):
			digit = true
		case isUpper(b):
		default:
			return false
		}
	}
	return digit
}

// validHKMacaoPermit: 港澳居民来往内地通行证, H (Hong Kong) or M (Macao),
// then the 8-digit lifetime number, followed on cards issued before 2013 by
// a 2-digit renewal count.
func validHKMacaoPermit(n string) bool {
	return (len(n) == 9 || len(n) == 11) && (n[0] == 'H' || n[0] == 'M') && allDigits(n[1:])
}

// validTaiwanPermit: 台湾居民来往大陆通行证. Since 25 September 2008 the
// number is the 8-digit lifetime number; older five-year permits added a
// 2-digit issue count and, from Hong Kong and Macao offices, an issuing
// office code in parentheses, e.g. 0123456701(B).
func validTaiwanPermit(n string) bool {
	switch len(n) {
	case 8, 10:
		return allDigits(n)
	case 13:
		return allDigits(n[:10]) && n[10] == '(' && (isUpper(n[11]) || isDigit(n[11])) && n[12] == ')'
	}
	return false
}
