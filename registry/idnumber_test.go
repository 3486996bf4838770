package registry

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// Worked examples printed in GB 11643-1999 itself and repeated in every
// description of it: a woman born 1949-12-31 in Chaoyang, Beijing, and a
// man born 1880-01-01 in Chaoyang county, Guangdong.
var publicResidentIDs = []string{"11010519491231002X", "440524188001010014"}

func TestResidentIDCheckCharPublicExamples(t *testing.T) {
	for _, id := range publicResidentIDs {
		got, err := ResidentIDCheckChar(id[:17])
		if err != nil || got != id[17] {
			t.Errorf("check character of %s = %q, %v; want %q", id[:17], got, err, id[17])
		}
		if indep := gbCheck(t, id[:17]); indep != id {
			t.Errorf("independent check disagrees with the published example %s: %s", id, indep)
		}
	}
}

// TestResidentIDCheckCharProperty compares ResidentIDCheckChar with the
// defining congruence on random inputs, covering all eleven check values.
func TestResidentIDCheckCharProperty(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	seen := map[byte]bool{}
	for range 5000 {
		b := make([]byte, 17)
		for i := range b {
			b[i] = byte('0' + rng.IntN(10))
		}
		got, err := ResidentIDCheckChar(string(b))
		if err != nil {
			t.Fatal(err)
		}
		if want := gbCheck(t, string(b)); got != want[17] {
			t.Fatalf("%s: got %q, want %q", b, got, want[17])
		}
		seen[got] = true
	}
	if len(seen) != 11 {
		t.Errorf("only %d distinct check characters seen", len(seen))
	}
}

func TestResidentIDCheckCharErrors(t *testing.T) {
	for _, in := range []string{"", "1101051949123100", "11010519491231002X", "1101051949123100A", "１１０１０５１９４９１２３１０"} {
		_, err := ResidentIDCheckChar(in)
		if err == nil {
			t.Errorf("ResidentIDCheckChar(%q): no error", in)
			continue
		}
		if in != "" && strings.Contains(err.Error(), in) {
			t.Errorf("error %q quotes its input", err)
		}
	}
}

func FuzzResidentIDCheckChar(f *testing.F) {
	f.Add("11010519491231002")
	f.Add("4405241880010100")
	f.Add("1101051949123100x")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ResidentIDCheckChar(s)
		if err != nil {
			return
		}
		if len(s) != 17 || !allDigits(s) {
			t.Fatalf("accepted %q", s)
		}
		if want := gbCheck(t, s); c != want[17] {
			t.Fatalf("%s: got %q, want %q", s, c, want[17])
		}
	})
}

// resID builds a valid resident ID for region, birth date and sequence.
func resID(t testing.TB, region string, birth Date, seq string) string {
	return gbCheck(t, region+compact(birth)+seq)
}

func compact(d Date) string { return strings.ReplaceAll(d.String(), "-", "") }

// fprID builds a valid 2023 foreign permanent-residence ID.
func fprID(t testing.TB, province, country string, birth Date, seq string) string {
	return gbCheck(t, "9"+province+country+compact(birth)+seq)
}

func TestValidateIDNumbers(t *testing.T) {
	pg, eq := vPostgraduate, vEquivalent
	birth := NewDate(1995, time.March, 15)
	set := func(typ IDType, n string) func(*Record) {
		return func(r *Record) { r.IDType, r.IDNumber = typ, n }
	}
	foreign := func(typ IDType, n string) func(*Record) {
		return func(r *Record) { r.Nationality, r.IDType, r.IDNumber = "USA", typ, n }
	}
	idFormat := one("id_number", CodeFormat)
	runValidateCases(t, []validateCase{
		// Resident ID (postgraduate base: a woman born 1995-03-15).
		{"resident other region", pg, set(IDResident, resID(t, "110105", birth, "004")), nil},
		{"resident X check", pg, func(r *Record) {
			// Find a sequence whose check character is X.
			for s := 0; s < 1000; s += 2 {
				if id := resID(t, "110105", birth, seqString(s)); id[17] == 'X' {
					r.IDNumber = id
					return
				}
			}
			t.Fatal("no X found")
		}, nil},
		{"resident HK residence permit", pg, set(IDResident, resID(t, "810000", birth, "002")), nil},
		{"resident Taiwan residence permit", pg, set(IDResident, resID(t, "830000", birth, "002")), nil},
		{"resident lower-case x", pg, func(r *Record) { r.IDNumber = strings.Replace(resIDWithX(t, birth), "X", "x", 1) }, idFormat},
		{"resident 17", pg, func(r *Record) { r.IDNumber = r.IDNumber[:17] }, idFormat},
		{"resident 19", pg, func(r *Record) { r.IDNumber += "0" }, idFormat},
		{"resident 15 digits", pg, set(IDResident, "650102950315002"), idFormat},
		{"resident letter inside", pg, func(r *Record) { r.IDNumber = "6501021995031500A" + r.IDNumber[17:] }, idFormat},
		{"resident full-width", pg, set(IDResident, "６５０１０２１９９５０３１５００２"), idFormat},
		{"resident wrong check", pg, func(r *Record) { r.IDNumber = r.IDNumber[:17] + otherCheck(r.IDNumber[17]) }, one("id_number", CodeCheckDigit)},
		{"resident region 00", pg, set(IDResident, resID(t, "000000", birth, "002")), one("id_number", CodeUnknownValue)},
		{"resident region 16", pg, set(IDResident, resID(t, "160000", birth, "002")), one("id_number", CodeUnknownValue)},
		{"resident region 72", pg, set(IDResident, resID(t, "720000", birth, "002")), one("id_number", CodeUnknownValue)},
		{"resident birth not a date", pg, func(r *Record) {
			r.IDNumber = gbCheck(t, "65010219950230002")
		}, idFormat},
		{"resident birth differs", pg, func(r *Record) { r.BirthDate = NewDate(1995, time.March, 16) }, one("id_number", CodeMismatch)},
		{"resident gender differs", pg, func(r *Record) { r.Gender = GenderMale }, one("id_number", CodeMismatch)},
		{"resident male odd", pg, func(r *Record) { r.Gender = GenderMale; r.IDNumber = resID(t, "650102", birth, "001") }, nil},
		{"resident foreign nationality", pg, func(r *Record) { r.Nationality = "USA" }, one("nationality", CodeMismatch)},
		{"resident TWN nationality", pg, func(r *Record) { r.Nationality = "TWN" }, nil},
		// Passport (equivalent base: a man holding a passport).
		{"passport 5", eq, set(IDPassport, "E1234"), nil},
		{"passport 17", eq, set(IDPassport, "A1234567890123456"), nil},
		{"passport 4", eq, set(IDPassport, "E123"), idFormat},
		{"passport 18", eq, set(IDPassport, "A12345678901234567"), idFormat},
		{"passport lower", eq, set(IDPassport, "e12345678"), idFormat},
		{"passport no digit", eq, set(IDPassport, "ABCDEFGH"), idFormat},
		{"passport hyphen", eq, set(IDPassport, "E-1234567"), idFormat},
		// Home-return permit.
		{"hk card", eq, set(IDHKMacaoPermit, "H12345678"), nil},
		{"macao old card", eq, set(IDHKMacaoPermit, "M1234567801"), nil},
		{"hk with HKG", eq, func(r *Record) { r.Nationality = "HKG"; r.IDType, r.IDNumber = IDHKMacaoPermit, "H12345678" }, nil},
		{"hk 7 digits", eq, set(IDHKMacaoPermit, "H1234567"), idFormat},
		{"hk 9 digits", eq, set(IDHKMacaoPermit, "H123456789"), idFormat},
		{"hk wrong letter", eq, set(IDHKMacaoPermit, "C12345678"), idFormat},
		{"hk with TWN", eq, func(r *Record) { r.Nationality = "TWN"; r.IDType, r.IDNumber = IDHKMacaoPermit, "H12345678" }, one("nationality", CodeMismatch)},
		// Taiwan compatriot permit.
		{"taiwan 8", eq, set(IDTaiwanPermit, "12345678"), nil},
		{"taiwan 10", eq, set(IDTaiwanPermit, "1234567801"), nil},
		{"taiwan 10 office", eq, set(IDTaiwanPermit, "0561682001(D)"), nil},
		{"taiwan 9", eq, set(IDTaiwanPermit, "123456789"), idFormat},
		{"taiwan office lower", eq, set(IDTaiwanPermit, "0561682001(d)"), idFormat},
		{"taiwan letter", eq, set(IDTaiwanPermit, "T2345678"), idFormat},
		{"taiwan with HKG", eq, func(r *Record) { r.Nationality = "HKG"; r.IDType, r.IDNumber = IDTaiwanPermit, "12345678" }, one("nationality", CodeMismatch)},
		// Foreign permanent-residence ID (born 1985-11-02).
		{"fpr old", eq, foreign(IDForeignPermanent, "USA110085110201"), nil},
		{"fpr old other country", eq, foreign(IDForeignPermanent, "GBR110085110201"), one("id_number", CodeMismatch)},
		{"fpr old lower", eq, foreign(IDForeignPermanent, "usa110085110201"), idFormat},
		{"fpr new", eq, foreign(IDForeignPermanent, fprID(t, "11", "840", NewDate(1985, 11, 2), "001")), nil},
		{"fpr new region 00", eq, foreign(IDForeignPermanent, fprID(t, "00", "840", NewDate(1985, 11, 2), "001")), one("id_number", CodeUnknownValue)},
		{"fpr new region 81", eq, foreign(IDForeignPermanent, fprID(t, "81", "840", NewDate(1985, 11, 2), "001")), one("id_number", CodeUnknownValue)},
		{"fpr new birth differs", eq, foreign(IDForeignPermanent, fprID(t, "11", "840", NewDate(1985, 11, 3), "001")), one("id_number", CodeMismatch)},
		{"fpr new check", eq, func(r *Record) {
			id := fprID(t, "11", "840", NewDate(1985, 11, 2), "001")
			foreign(IDForeignPermanent, id[:17]+otherCheck(id[17]))(r)
		}, one("id_number", CodeCheckDigit)},
		{"fpr new not 9", eq, foreign(IDForeignPermanent, gbCheck(t, "81184019851102001")), idFormat},
		{"fpr chinese national", eq, set(IDForeignPermanent, "USA110085110201"), []want{{"id_number", CodeMismatch}, {"nationality", CodeMismatch}}},
		{"fpr new chinese national", eq, set(IDForeignPermanent, fprID(t, "11", "840", NewDate(1985, 11, 2), "001")), one("nationality", CodeMismatch)},
		// Other documents.
		{"other", eq, set(IDOther, "军字第1234567号"), nil},
		{"other space", eq, set(IDOther, "AB 123"), idFormat},
		{"other too long", eq, set(IDOther, strings.Repeat("9", maxOtherIDChars+1)), one("id_number", CodeTooLong)},
		{"other control", eq, set(IDOther, "AB\x00123"), idFormat},
		{"type unknown", eq, set("driving_licence", "123"), one("id_type", CodeUnknownValue)},
	})
}

func seqString(n int) string {
	return string([]byte{byte('0' + n/100), byte('0' + n/10%10), byte('0' + n%10)})
}

func resIDWithX(t testing.TB, birth Date) string {
	for s := 0; s < 1000; s += 2 {
		if id := resID(t, "650102", birth, seqString(s)); id[17] == 'X' {
			return id
		}
	}
	t.Fatal("no X found")
	return ""
}

func otherCheck(c byte) string {
	const all = "0123456789X"
	return string(all[(strings.IndexByte(all, c)+1)%len(all)])
}

func TestNormalizeIDNumber(t *testing.T) {
	cases := []struct {
		typ      IDType
		in, want string
	}{
		{IDResident, " 11010519491231002x\t", "11010519491231002X"},
		{IDResident, "１１０１０５１９４９１２３１００２ｘ", "11010519491231002X"},
		{IDResident, "\u300011010519491231002X\u3000", "11010519491231002X"},
		{IDPassport, "e12345678", "E12345678"},
		{IDHKMacaoPermit, "h12345678", "H12345678"},
		{IDTaiwanPermit, "0561682001(d)", "0561682001(D)"},
		{IDForeignPermanent, "usa110085110201", "USA110085110201"},
		{IDOther, " ab-12 ", "ab-12"},
		{"", " x1 ", "x1"},
	}
	for _, c := range cases {
		got := NormalizeIDNumber(c.typ, c.in)
		if got != c.want {
			t.Errorf("NormalizeIDNumber(%s, %q) = %q, want %q", c.typ, c.in, got, c.want)
		}
		if again := NormalizeIDNumber(c.typ, got); again != got {
			t.Errorf("not idempotent: %q → %q", got, again)
		}
	}
	if n := testing.AllocsPerRun(100, func() { NormalizeIDNumber(IDResident, "11010519491231002X") }); n != 0 {
		t.Errorf("canonical number allocates %v times", n)
	}
}

func TestValidIDNumber(t *testing.T) {
	cases := []struct {
		typ IDType
		n   string
		ok  bool
	}{
		{IDResident, publicResidentIDs[0], true},
		{IDResident, publicResidentIDs[1], true},
		{IDResident, "11010519491231002Y", false},
		{IDResident, "110105194912310021", false},
		{IDPassport, "E12345678", true},
		{IDHKMacaoPermit, "M12345678", true},
		{IDTaiwanPermit, "12345678", true},
		{IDForeignPermanent, "CAN310085110201", true},
		{IDOther, "x", true},
		{IDOther, "", false},
		{IDOther, " ", false},
		{"unknown", "x", false},
	}
	for _, c := range cases {
		if got := ValidIDNumber(c.typ, c.n); got != c.ok {
			t.Errorf("ValidIDNumber(%s, %q) = %v, want %v", c.typ, c.n, got, c.ok)
		}
	}
}

func FuzzNormalizeIDNumber(f *testing.F) {
	f.Add("resident_id", " 11010519491231002x ")
	f.Add("passport", "ｅ１２３")
	f.Add("other", "\u3000Ab\u3000")
	f.Fuzz(func(t *testing.T, typ, s string) {
		n := NormalizeIDNumber(IDType(typ), s)
		if again := NormalizeIDNumber(IDType(typ), n); again != n {
			t.Fatalf("not idempotent: %q → %q → %q", s, n, again)
		}
		ValidIDNumber(IDType(typ), n) // must not panic
	})
}
