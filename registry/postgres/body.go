package postgres

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/degreegate/degreegate/registry"
)

// The sealed record body is stored as a compact binary encoding rather
// than jsonb: at import rates of 100,000 records a second the server's
// jsonb parser and Go's encoding/json would cost more CPU than everything
// else in Insert together, and nothing queries inside the body (the
// queryable fields have columns of their own).
//
// Layout: one format byte, then every field of registry.Record except the
// direct identifiers (id_number, phone, email: they live only in the
// encrypted secret column), in declaration order:
//   - strings: uvarint length, bytes;
//   - dates and months: zigzag varints of year, month(, day), so that even
//     an unvalidated value round-trips exactly;
//   - ints: zigzag varint; bools: one byte 0 or 1;
//   - string lists: uvarint 0 for nil, else 1+len, then each string, so
//     that nil and empty lists stay distinct.
//
// A new Record field needs a new format byte; TestBodyCoversEveryField
// fails until the codec is extended.
const bodyFormat1 byte = 1

// errBody is wrapped by every decoding error; messages name the field,
// never its content.
var errBody = errors.New("malformed record body")

func encodeBody(dst []byte, r *registry.Record) []byte {
	e := bodyEncoder{b: dst}
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
	return e.b
}

func decodeBody(b []byte, r *registry.Record) error {
	if len(b) == 0 {
		return fmt.Errorf("%w: empty", errBody)
	}
	if b[0] != bodyFormat1 {
		return fmt.Errorf("%w: unknown format %d", errBody, b[0])
	}
	d := bodyDecoder{b: b[1:], text: string(b[1:])}
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
	if d.err != nil {
		return d.err
	}
	if len(d.b) != 0 {
		return fmt.Errorf("%w: %d trailing bytes", errBody, len(d.b))
	}
	return nil
}

type bodyEncoder struct{ b []byte }

func (e *bodyEncoder) str(s string) {
	e.b = binary.AppendUvarint(e.b, uint64(len(s)))
	e.b = append(e.b, s...)
}

func (e *bodyEncoder) int(n int) { e.b = binary.AppendVarint(e.b, int64(n)) }

func (e *bodyEncoder) bool(v bool) {
	if v {
		e.b = append(e.b, 1)
	} else {
		e.b = append(e.b, 0)
	}
}

func (e *bodyEncoder) date(d registry.Date) {
	e.int(d.Year())
	e.int(int(d.Month()))
	e.int(d.Day())
}

func (e *bodyEncoder) month(m registry.Month) {
	e.int(m.Year())
	e.int(int(m.Month()))
}

func (e *bodyEncoder) strs(list []string) {
	if list == nil {
		e.b = append(e.b, 0)
		return
	}
	e.b = binary.AppendUvarint(e.b, uint64(len(list))+1)
	for _, s := range list {
		e.str(s)
	}
}

// bodyDecoder keeps the first error and turns every later read into a
// no-op, so decodeBody reads as a plain list of fields.
//
// Every string it returns is a substring of text, one copy of the whole
// body: a record is one allocation rather than one per field, which a
// cache of many records makes the garbage collector's work (it marks
// objects, and forty strings a record were most of them).
type bodyDecoder struct {
	b    []byte // what is left to read
	text string // the whole body; b is always its tail
	err  error
}

func (d *bodyDecoder) fail(field, why string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: field %s: %s", errBody, field, why)
	}
	d.b = nil
}

func (d *bodyDecoder) uvarint(field string) uint64 {
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

func (d *bodyDecoder) str(field string) string {
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

func (d *bodyDecoder) int(field string) int {
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

func (d *bodyDecoder) bool(field string) bool {
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

func (d *bodyDecoder) date(field string) registry.Date {
	y, m, day := d.int(field), d.int(field), d.int(field)
	return registry.NewDate(y, time.Month(m), day)
}

func (d *bodyDecoder) month(field string) registry.Month {
	y, m := d.int(field), d.int(field)
	return registry.NewMonth(y, time.Month(m))
}

func (d *bodyDecoder) strs(field string) []string {
	n := d.uvarint(field)
	if d.err != nil || n == 0 {
		return nil
	}
	n--
	// Every string costs at least its length byte: a count beyond the
	// remaining bytes is corrupt, and must not become a huge allocation.
	if n > uint64(len(d.b)) {
		d.fail(field, "count exceeds body")
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
