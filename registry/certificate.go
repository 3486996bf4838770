package registry

// The certificate number (学位证书编号). From 2016 every unit uses the
// national 16-digit structure
//
//	UUUUU L YYYY NNNNNN
//
// unit code, level digit (DegreeLevel.CertificateDigit), conferral year,
// and six digits the unit assigns as it likes, which are therefore not
// checked. Before 2016 units numbered certificates their own way; many
// already used the national structure, and a number that looks like it
// (16 digits opening with the record's unit code) is held to it.

// gb2016From is the first conferral year for which the 16-digit structure
// is mandatory.
const gb2016From = 2016

// certificate checks certificate_number and returns the rule it follows.
func (c *checker) certificate() CertificateRule {
	r := c.r
	n := r.CertificateNumber
	if !c.required("certificate_number", n) {
		return ""
	}
	sixteen := len(n) == 16 && allDigits(n)
	if !r.ConferralDate.IsZero() && r.ConferralDate.Year() >= gb2016From {
		if !sixteen {
			c.add("certificate_number", CodeFormat, "from 2016 a certificate number is 16 digits: unit code, level digit, conferral year and a 6-digit number")
			return ""
		}
		c.certificateParts(n)
		return CertGB2016
	}
	// Before 2016, or conferral date unknown (reported elsewhere).
	if sixteen && isUnitCode(r.UnitCode) && n[:5] == r.UnitCode {
		c.certificateParts(n)
		return CertGB2016
	}
	if legacyCertificate(n) {
		return CertLegacy
	}
	c.add("certificate_number", CodeFormat, "a certificate number before 2016 is 16 digits, or up to 17 digits with an optional prefix of up to 4 upper-case letters")
	return ""
}

// certificateParts compares the structured parts of a 16-digit number
// with the record, each disagreement its own violation. A part is not
// compared with a field that is itself missing or malformed: that field
// has its own violation, and a second one here would only be noise.
func (c *checker) certificateParts(n string) {
	r := c.r
	if isUnitCode(r.UnitCode) && n[:5] != r.UnitCode {
		c.add("certificate_number", CodeMismatch, "digits 1–5 of certificate_number are not the unit code in unit_code")
	}
	switch level := n[5]; {
	case level < '2' || level > '4':
		c.add("certificate_number", CodeFormat, "digit 6 of certificate_number is the level digit: 2 doctor, 3 master, 4 bachelor")
	case r.DegreeLevel.CertificateDigit() != 0 && level != r.DegreeLevel.CertificateDigit():
		c.add("certificate_number", CodeMismatch, "digit 6 of certificate_number (2 doctor, 3 master, 4 bachelor) does not match degree_level")
	}
	year := int(n[6]-'0')*1000 + int(n[7]-'0')*100 + int(n[8]-'0')*10 + int(n[9]-'0')
	if !r.ConferralDate.IsZero() && year != r.ConferralDate.Year() {
		c.add("certificate_number", CodeMismatch, "digits 7–10 of certificate_number are not the year of conferral_date")
	}
}

// legacyCertificate: up to four upper-case letters (a unit or series
// prefix) followed by digits, 6 to 17 characters in all, at least 4 of
// them digits.
func legacyCertificate(n string) bool {
	if len(n) < 6 || len(n) > 17 {
		return false
	}
	i := 0
	for i < len(n) && i < 4 && isUpper(n[i]) {
		i++
	}
	return len(n)-i >= 4 && allDigits(n[i:])
}

// isUnitCode: degree-granting units have five-digit codes (10001 Peking
// University, 8xxxx research institutes, 9xxxx military units).
func isUnitCode(s string) bool { return len(s) == 5 && allDigits(s) }
