package csvio

// Spreadsheets run a cell that starts with =, +, -, @ (and, in some,
// tab or CR followed by one of those) as a formula, so a value from the
// registry or from a contractor's own data could make whoever opens a
// released CSV run a command ("CSV injection"). GuardFormula neutralises
// such cells as OWASP recommends, with a leading single quote, and
// UnguardFormula undoes it for readers of the files.
//
// A plain number is left alone: "-5" or "+1.5e3" is data that every
// spreadsheet reads as a number, and quoting it would turn a numeric
// column into text; it cannot carry a formula. Everything else that
// starts with a trigger, a lone "-" included, is guarded. A cell that
// starts with a quote is guarded too (one more quote), so that the
// encoding stays reversible: UnguardFormula(GuardFormula(s)) == s for
// every s.

// GuardFormula returns s, or s behind a single quote when a spreadsheet
// could take it for a formula or when it starts with a quote itself.
func GuardFormula(s string) string {
	if needsGuard(s) {
		return "'" + s
	}
	return s
}

// UnguardFormula returns the value GuardFormula wrote as s.
func UnguardFormula(s string) string {
	if len(s) > 1 && s[0] == '\'' && (s[1] == '\'' || needsGuard(s[1:])) {
		return s[1:]
	}
	return s
}

func needsGuard(s string) bool {
	if s == "" {
		return false
	}
	switch s[0] {
	case '\'', '=', '@', '\t', '\r':
		return true
	case '+', '-':
		return !plainNumber(s)
	}
	return false
}

// plainNumber reports whether s is a decimal number with an optional
// sign, fraction and exponent, and nothing else.
func plainNumber(s string) bool {
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	digits := 0
	for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		digits++
	}
	if i < len(s) && s[i] == '.' {
		for i++; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
			digits++
		}
	}
	if digits == 0 {
		return false
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		exp := 0
		for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
			exp++
		}
		if exp == 0 {
			return false
		}
	}
	return i == len(s)
}
