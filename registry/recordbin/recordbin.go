// Package recordbin is the compact binary encoding of registry records:
// the record body the PostgreSQL store keeps in its body column, and a
// whole stored version (body, sealed identifiers, version number and
// change) for caches that keep versions as bytes the garbage collector
// need not look into.
//
// Decoding returns strings that share one copy of the input, so a decoded
// record is one allocation for all its text, not one per field.
package recordbin

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/degreegate/degreegate/registry"
)

// The PostgreSQL store keeps a record body in this encoding rather than
// as jsonb: at import rates of 100,000 records a second the server's
// jsonb parser and Go's encoding/json would cost more CPU than everything
// else in Insert together, and nothing queries inside the body (the
// queryable fields have columns of their own). BenchmarkBody
// (bench_test.go), 2026-12-07 on a shared 2-core machine: a sample body
// is 460 bytes against 1,172 as JSON and 1,093 as gob; encoding takes
// 0.7-0.8 µs and no allocation against 6.5-11 µs and 18 (JSON); decoding
// 3 allocations against 45 (JSON) and 333 (gob). The fields are named
// one by one rather than walked from registry.Fields because the stored
// layout must not move when the table does; walking it (BenchmarkBody's
// "table") decodes as fast and encodes some 40% slower.
//
// Layout: one format byte, then every field of registry.Fields except the
// secret ones (id_number, phone, email: they live only in the encrypted
// secret column), in Record's declaration order (TestBodyFollowsTheTable):
//   - strings: uvarint length, bytes;
//   - dates and months: zigzag varints of year, month(, day), so that even
//     an unvalidated value round-trips exactly;
//   - ints: zigzag varint; bools: one byte 0 or 1;
//   - string lists: uvarint 0 for nil, else 1+len, then each string, so
//     that nil and empty lists stay distinct.
//
// A new Record field needs a new format byte; TestBodyFollowsTheTable and
// TestRecordCoversEveryField fail until the codec is extended. The format is stored: it never
// changes in place.
const bodyFormat1 byte = 1

// ErrMalformed is wrapped by every decoding error; messages name the
// field, never its content.
var ErrMalformed = errors.New("malformed record encoding")

// AppendRecord appends r's body encoding to dst. The direct identifiers
// (IDNumber, Phone, Email) are left out: sealed records keep them only in
// their encrypted Secret.
func AppendRecord(dst []byte, r *registry.Record) []byte {
	e := encoder{b: dst}
	e.record(r)
	return e.b
}

func (e *encoder) record(r *registry.Record) {
	e.b = append(e.b, bodyFormat1)
	e.str(string(r.Kind))
	e.str(r.Name)
	e.str(string(r.Gender))
	e.str(r.Nationality)
	e.str(r.Ethnicity)
	e.str(r.PoliticalStatus)
	e.date(r.BirthDate)
	e.str(string(r.IDType))
	e.str(r.UnitCode)
	e.str(r.UnitName)
	e.str(r.PresidentName)
	e.str(r.CommitteeChairName)
	e.str(string(r.DegreeLevel))
	e.str(string(r.DegreeType))
	e.str(r.DegreeCategory)
	e.str(r.DisciplineCode)
	e.str(r.DisciplineName)
	e.date(r.ConferralDate)
	e.str(r.CertificateNumber)
	e.str(r.ResolutionNumber)
	e.str(r.CertificateStyle)
	e.str(r.SupervisorName)
	e.month(r.EnrolmentMonth)
	e.str(r.StudentNumber)
	e.month(r.GraduationMonth)
	e.str(string(r.StudyMode))
	e.str(r.ApplicationNumber)
	e.month(r.ApplicationMonth)
	e.str(r.TrainingUnit)
	e.int(r.ProgrammeYears)
	e.str(r.StudyForm)
	e.str(r.ThesisTitle)
	e.strs(r.ThesisKeywords)
	e.str(r.ThesisTopicSource)
	e.bool(r.ThesisClassified)
	e.str(r.PhotoRef)
	e.str(string(r.Status))
	e.date(r.RevokedOn)
	e.str(r.RevocationResolution)
	e.str(r.RevocationReason)
}

// DecodeRecord decodes a body AppendRecord made into r.
func DecodeRecord(b []byte, r *registry.Record) error {
	d := newDecoder(b)
	d.record(r)
	return d.end()
}

func newDecoder(b []byte) *decoder { return &decoder{b: b, text: string(b)} }

// end reports the first error, or trailing bytes.
func (d *decoder) end() error {
	if d.err != nil {
		return d.err
	}
	if len(d.b) != 0 {
		return fmt.Errorf("%w: %d trailing bytes", ErrMalformed, len(d.b))
	}
	return nil
}

func (d *decoder) record(r *registry.Record) {
	if d.err != nil {
		return
	}
	switch {
	case len(d.b) == 0:
		d.fail("format", "empty")
		return
	case d.b[0] != bodyFormat1:
		d.fail("format", fmt.Sprintf("unknown format %d", d.b[0]))
		return
	}
	d.b = d.b[1:]
	r.Kind = registry.Kind(d.str("kind"))
	r.Name = d.str("name")
	r.Gender = registry.Gender(d.str("gender"))
	r.Nationality = d.str("nationality")
	r.Ethnicity = d.str("ethnicity")
	r.PoliticalStatus = d.str("political_status")
	r.BirthDate = d.date("birth_date")
	r.IDType = registry.IDType(d.str("id_type"))
	r.UnitCode = d.str("unit_code")
	r.UnitName = d.str("unit_name")
	r.PresidentName = d.str("president_name")
	r.CommitteeChairName = d.str("committee_chair_name")
	r.DegreeLevel = registry.DegreeLevel(d.str("degree_level"))
	r.DegreeType = registry.DegreeType(d.str("degree_type"))
	r.DegreeCategory = d.str("degree_category")
	r.DisciplineCode = d.str("discipline_code")
	r.DisciplineName = d.str("discipline_name")
	r.ConferralDate = d.date("conferral_date")
	r.CertificateNumber = d.str("certificate_number")
	r.ResolutionNumber = d.str("resolution_number")
	r.CertificateStyle = d.str("certificate_style")
	r.SupervisorName = d.str("supervisor_name")
	r.EnrolmentMonth = d.month("enrolment_month")
	r.StudentNumber = d.str("student_number")
	r.GraduationMonth = d.month("graduation_month")
	r.StudyMode = registry.StudyMode(d.str("study_mode"))
	r.ApplicationNumber = d.str("application_number")
	r.ApplicationMonth = d.month("application_month")
	r.TrainingUnit = d.str("training_unit")
	r.ProgrammeYears = d.int("programme_years")
	r.StudyForm = d.str("study_form")
	r.ThesisTitle = d.str("thesis_title")
	r.ThesisKeywords = d.strs("thesis_keywords")
	r.ThesisTopicSource = d.str("thesis_topic_source")
	r.ThesisClassified = d.bool("thesis_classified")
	r.PhotoRef = d.str("photo_ref")
	r.Status = registry.Status(d.str("status"))
	r.RevokedOn = d.date("revoked_on")
	r.RevocationResolution = d.str("revocation_resolution")
	r.RevocationReason = d.str("revocation_reason")
}

type encoder struct{ b []byte }

func (e *encoder) str(s string) {
	e.b = binary.AppendUvarint(e.b, uint64(len(s)))
	e.b = append(e.b, s...)
}

func (e *encoder) int(n int) { e.b = binary.AppendVarint(e.b, int64(n)) }

func (e *encoder) bool(v bool) {
	if v {
		e.b = append(e.b, 1)
	} else {
		e.b = append(e.b, 0)
	}
}

func (e *encoder) date(d registry.Date) {
	e.int(d.Year())
	e.int(int(d.Month()))
	e.int(d.Day())
}

func (e *encoder) month(m registry.Month) {
	e.int(m.Year())
	e.int(int(m.Month()))
}

func (e *encoder) strs(list []string) {
	if list == nil {
		e.b = append(e.b, 0)
		return
	}
	e.b = binary.AppendUvarint(e.b, uint64(len(list))+1)
	for _, s := range list {
		e.str(s)
	}
}

// decoder keeps the first error and turns every later read into a
// no-op, so the decoding functions read as plain lists of fields.
//
// Every string it returns is a substring of text, one copy of the whole
// input: a record is one allocation rather than one per field, which a
// cache of many records makes the garbage collector's work (it marks
// objects, and forty strings a record were most of them).
type decoder struct {
	b    []byte // what is left to read
	text string // the whole input; b is always its tail
	err  error
}

func (d *decoder) fail(field, why string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: field %s: %s", ErrMalformed, field, why)
	}
	d.b = nil
}

func (d *decoder) uvarint(field string) uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail(field, "bad length")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) str(field string) string {
	n := d.uvarint(field)
	if d.err != nil {
		return ""
	}
	if n > uint64(len(d.b)) {
		d.fail(field, "truncated")
		return ""
	}
	at := len(d.text) - len(d.b)
	d.b = d.b[n:]
	return d.text[at : at+int(n)]
}

func (d *decoder) int(field string) int {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 || int64(int(v)) != v {
		d.fail(field, "bad integer")
		return 0
	}
	d.b = d.b[n:]
	return int(v)
}

func (d *decoder) bool(field string) bool {
	if d.err != nil {
		return false
	}
	if len(d.b) == 0 || d.b[0] > 1 {
		d.fail(field, "bad boolean")
		return false
	}
	v := d.b[0] == 1
	d.b = d.b[1:]
	return v
}

func (d *decoder) date(field string) registry.Date {
	y, m, day := d.int(field), d.int(field), d.int(field)
	return registry.NewDate(y, time.Month(m), day)
}

func (d *decoder) month(field string) registry.Month {
	y, m := d.int(field), d.int(field)
	return registry.NewMonth(y, time.Month(m))
}

func (d *decoder) strs(field string) []string {
	n := d.uvarint(field)
	if d.err != nil || n == 0 {
		return nil
	}
	n--
	// Every string costs at least its length byte: a count beyond the
	// remaining bytes is corrupt, and must not become a huge allocation.
	if n > uint64(len(d.b)) {
		d.fail(field, "count exceeds input")
		return nil
	}
	list := make([]string, n)
	for i := range list {
		list[i] = d.str(field)
	}
	if d.err != nil {
		return nil
	}
	return list
}
