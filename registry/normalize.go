package registry

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Normalize puts a record into the canonical form that Validate checks,
// the store keeps and verification compares against. It changes only how
// values are written, never what they say (Art. 10: a wrong record is
// rejected, not repaired):
//
//   - person names (name, president_name, committee_chair_name,
//     supervisor_name) through NormalizeName;
//   - id_number through NormalizeIDNumber (which upper-cases a resident
//     ID's check 'x');
//   - nationality upper-cased, full-width letters folded;
//   - every other string field trimmed of surrounding white space;
//   - thesis keywords trimmed, empty ones dropped.
//
// Normalize is idempotent. It writes new slices rather than editing the
// caller's keyword array, so records that share one stay independent.
func Normalize(r *Record) {
	r.Kind = Kind(trim(string(r.Kind)))

	r.Name = NormalizeName(r.Name)
	r.Gender = Gender(trim(string(r.Gender)))
	r.Nationality = upperASCII(trim(r.Nationality))
	r.Ethnicity = trim(r.Ethnicity)
	r.PoliticalStatus = trim(r.PoliticalStatus)
	r.IDType = IDType(trim(string(r.IDType)))
	r.IDNumber = NormalizeIDNumber(r.IDType, r.IDNumber)
	r.Phone = trim(r.Phone)
	r.Email = trim(r.Email)

	r.UnitCode = trim(r.UnitCode)
	r.UnitName = trim(r.UnitName)
	r.PresidentName = NormalizeName(r.PresidentName)
	r.CommitteeChairName = NormalizeName(r.CommitteeChairName)
	r.DegreeLevel = DegreeLevel(trim(string(r.DegreeLevel)))
	r.DegreeType = DegreeType(trim(string(r.DegreeType)))
	r.DegreeCategory = trim(r.DegreeCategory)
	r.DisciplineCode = trim(r.DisciplineCode)
	r.DisciplineName = trim(r.DisciplineName)
	r.CertificateNumber = trim(r.CertificateNumber)
	r.ResolutionNumber = trim(r.ResolutionNumber)
	r.CertificateStyle = trim(r.CertificateStyle)

	r.SupervisorName = NormalizeName(r.SupervisorName)
	r.StudentNumber = trim(r.StudentNumber)
	r.StudyMode = StudyMode(trim(string(r.StudyMode)))
	r.ApplicationNumber = trim(r.ApplicationNumber)
	r.TrainingUnit = trim(r.TrainingUnit)
	r.StudyForm = trim(r.StudyForm)

	r.ThesisTitle = trim(r.ThesisTitle)
	r.ThesisKeywords = normalizeKeywords(r.ThesisKeywords)
	r.ThesisTopicSource = trim(r.ThesisTopicSource)

	r.PhotoRef = trim(r.PhotoRef)

	r.Status = Status(trim(string(r.Status)))
	r.RevocationResolution = trim(r.RevocationResolution)
	r.RevocationReason = trim(r.RevocationReason)
}

// normalizeKeywords trims keywords and drops empty ones; a list already in
// that form is returned as it is, without allocating (BenchmarkNormalize).
func normalizeKeywords(kw []string) []string {
	clean := true
	for _, k := range kw {
		if k == "" || trim(k) != k {
			clean = false
			break
		}
	}
	if clean {
		return kw
	}
	out := make([]string, 0, len(kw))
	for _, k := range kw {
		if k = trim(k); k != "" {
			out = append(out, k)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// trim is strings.TrimSpace with a shortcut for the usual case, a value
// that neither starts nor ends with white space, which TrimSpace decodes
// rune by rune when the value is not ASCII.
func trim(s string) string {
	if s == "" {
		return s
	}
	first, _ := utf8.DecodeRuneInString(s)
	last, _ := utf8.DecodeLastRuneInString(s)
	if !unicode.IsSpace(first) && !unicode.IsSpace(last) {
		return s
	}
	return strings.TrimSpace(s)
}

// upperASCII upper-cases ASCII letters and folds full-width ASCII (as
// typed by Chinese input methods) to ASCII; other characters stay.
func upperASCII(s string) string {
	clean := true
	for i := 0; i < len(s); i++ {
		if b := s[i]; b >= utf8.RuneSelf || 'a' <= b && b <= 'z' {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		if r >= '\uFF01' && r <= '\uFF5E' {
			r -= 0xFEE0
		}
		if 'a' <= r && r <= 'z' {
			r -= 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}

// nameDot is the one separator for the parts of a minority or foreign
// name: U+00B7 MIDDLE DOT (GB 18030 A1A4), as 民委发〔2016〕33号 and
// JR/T 0253-2022 prescribe.
const nameDot = '\u00B7'

// NormalizeName returns the canonical form of a person's name, so that
// the same name typed on different systems compares equal:
//
//  1. invisible characters (zero-width space and joiner-less breaks, BOM,
//     soft hyphen) are removed;
//  2. Unicode NFKC: full-width Latin letters and digits become ASCII,
//     CJK compatibility ideographs become the unified ones, U+3000 a space;
//  3. every look-alike of the interpunct becomes U+00B7 '·';
//     typographic apostrophes and hyphens become ASCII ' and -;
//  4. a full stop between two Han characters ("阿依古丽.买买提", also
//     full-width "．" and "。") is a mistyped interpunct and becomes '·';
//  5. white space is trimmed, runs of it become one space, and spaces
//     beside a '·' are dropped.
//
// NormalizeName is idempotent and returns s itself when s is already
// canonical.
func NormalizeName(s string) string {
	// Steps 1 and 3 run before NFKC too: NFKC would turn U+318D into a
	// conjoining jamo, and a removed zero-width character can let two
	// neighbours compose, which must happen inside NFKC, not after it.
	s = mapNameRunes(s)
	s = norm.NFKC.String(s)
	return tidyName(s)
}

// nameRune maps one character of a name (steps 1 and 3); ok is false for
// characters to drop.
func nameRune(r rune) (_ rune, ok bool) {
	switch r {
	case '\u200B', // ZERO WIDTH SPACE
		'\u2060', // WORD JOINER
		'\uFEFF', // ZERO WIDTH NO-BREAK SPACE, a stray byte-order mark
		'\u00AD': // SOFT HYPHEN
		return 0, false
	case '\u0387', // GREEK ANO TELEIA (NFKC maps it to U+00B7 as well)
		'\u16EB', // RUNIC SINGLE PUNCTUATION
		'\u2022', // BULLET: word processors' list autoformat, Windows-1252 0x95
		'\u2027', // HYPHENATION POINT: Big5 A145, the Taiwan and Hong Kong interpunct
		'\u2219', // BULLET OPERATOR
		'\u22C5', // DOT OPERATOR
		'\u2E31', // WORD SEPARATOR MIDDLE DOT
		'\u2E33', // RAISED DOT
		'\u30FB', // KATAKANA MIDDLE DOT: GB 2312 A1A4 in some mapping tables, Japanese input methods
		'\uFF65', // HALFWIDTH KATAKANA MIDDLE DOT
		'\u318D', // HANGUL LETTER ARAEA: offered as a middle dot by Korean input methods
		'\uA78F': // LATIN LETTER SINOLOGICAL DOT
		return nameDot, true
	case '\u2018', '\u2019', '\u02BC', '\uFF07': // quotation marks and modifier letter used as apostrophes
		return '\'', true
	case '\u2010', '\u2011', '\u2012', '\u2013', '\u2212', '\uFE63', '\uFF0D': // hyphens, dashes, minus
		return '-', true
	}
	return r, true
}

// mapNameRunes applies nameRune to s, returning s itself if nothing changes.
func mapNameRunes(s string) string {
	i := 0
	for ; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			break
		}
	}
	if i == len(s) {
		return s
	}
	changed := false
	for _, r := range s[i:] {
		if m, ok := nameRune(r); !ok || m != r {
			changed = true
			break
		}
	}
	if !changed {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		if m, ok := nameRune(r); ok {
			b.WriteRune(m)
		}
	}
	return b.String()
}

// tidyName does steps 3 to 5 on NFKC text (step 3 again for characters
// NFKC itself produced).
func tidyName(s string) string {
	var buf [128]byte
	out := buf[:0]
	var prev rune // last character written, 0 at the start
	space := false
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		r, ok := nameRune(r)
		if !ok {
			continue
		}
		if unicode.IsSpace(r) {
			space = true
			continue
		}
		if (r == '.' || r == '\u3002') && isHan(prev) && isHan(nextNameRune(s[i:])) {
			r = nameDot
		}
		if space && prev != 0 && prev != nameDot && r != nameDot {
			out = append(out, ' ')
		}
		space = false
		out = utf8.AppendRune(out, r)
		prev = r
	}
	if string(out) == s {
		return s
	}
	return string(out)
}

// nextNameRune returns the next character of s that tidyName keeps and
// that is not white space, or 0.
func nextNameRune(s string) rune {
	for _, r := range s {
		if r, ok := nameRune(r); ok && !unicode.IsSpace(r) {
			return r
		}
	}
	return 0
}

func isHan(r rune) bool { return r >= 0x2E80 && unicode.Is(unicode.Han, r) }
