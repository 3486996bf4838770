package inmem

import (
	"encoding/binary"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/degreegate/degreegate/registry"
)

// A record is stored packed: every text field, the thesis keywords and the
// three byte slices of a Sealed live in one immutable string (the blob),
// located by end offsets, and dates take 8 bytes instead of 24. A plain
// registry.Sealed spends 792 bytes on headers before any text and needs
// four or more allocations that the garbage collector must trace; packed,
// a record costs one allocation. BenchmarkLayout (layout_bench_test.go),
// 2026-12-07 on a shared 2-core machine: 870 bytes of live heap a
// synthetic record packed against 1,228 in a map of registry.Version
// (1.4x); `degreegate dev --records 1000000` peaked at 1,435 MiB RSS, and
// at 1,851 MiB with this file swapped for deep copies of registry.Sealed,
// little short of dev's 2 GB budget. A lookup's copy-out is one allocation
// against three. Text comes back out as substrings of the blob, at no
// cost; byte slices as fresh copies.

// Indices of the text fields in the blob: registry.Fields' text fields in
// the table's order, then KeyID (TestPackFollowsTheTable). texts and
// setTexts must name every one; TestPackCoversEveryField checks that by
// reflection.
const (
	tKind = iota
	tName
	tGender
	tNationality
	tEthnicity
	tPoliticalStatus
	tIDType
	tIDNumber
	tPhone
	tEmail
	tUnitCode
	tUnitName
	tPresidentName
	tCommitteeChairName
	tDegreeLevel
	tDegreeType
	tDegreeCategory
	tDisciplineCode
	tDisciplineName
	tCertificateNumber
	tResolutionNumber
	tCertificateStyle
	tSupervisorName
	tStudentNumber
	tStudyMode
	tApplicationNumber
	tTrainingUnit
	tStudyForm
	tThesisTitle
	tThesisTopicSource
	tPhotoRef
	tStatus
	tRevocationResolution
	tRevocationReason
	tKeyID
	nText
)

// Spans of the blob after the text fields.
const (
	sKeywords = nText + iota // each keyword as its uvarint length, then its bytes
	sSecret
	sPersonIndex
	sDigest
	nSpans
)

func texts(r *registry.Sealed) [nText]string {
	return [nText]string{
		tKind:                 string(r.Kind),
		tName:                 r.Name,
		tGender:               string(r.Gender),
		tNationality:          r.Nationality,
		tEthnicity:            r.Ethnicity,
		tPoliticalStatus:      r.PoliticalStatus,
		tIDType:               string(r.IDType),
		tIDNumber:             r.IDNumber,
		tPhone:                r.Phone,
		tEmail:                r.Email,
		tUnitCode:             r.UnitCode,
		tUnitName:             r.UnitName,
		tPresidentName:        r.PresidentName,
		tCommitteeChairName:   r.CommitteeChairName,
		tDegreeLevel:          string(r.DegreeLevel),
		tDegreeType:           string(r.DegreeType),
		tDegreeCategory:       r.DegreeCategory,
		tDisciplineCode:       r.DisciplineCode,
		tDisciplineName:       r.DisciplineName,
		tCertificateNumber:    r.CertificateNumber,
		tResolutionNumber:     r.ResolutionNumber,
		tCertificateStyle:     r.CertificateStyle,
		tSupervisorName:       r.SupervisorName,
		tStudentNumber:        r.StudentNumber,
		tStudyMode:            string(r.StudyMode),
		tApplicationNumber:    r.ApplicationNumber,
		tTrainingUnit:         r.TrainingUnit,
		tStudyForm:            r.StudyForm,
		tThesisTitle:          r.ThesisTitle,
		tThesisTopicSource:    r.ThesisTopicSource,
		tPhotoRef:             r.PhotoRef,
		tStatus:               string(r.Status),
		tRevocationResolution: r.RevocationResolution,
		tRevocationReason:     r.RevocationReason,
		tKeyID:                r.KeyID,
	}
}

func setTexts(r *registry.Sealed, t *[nText]string) {
	r.Kind = registry.Kind(t[tKind])
	r.Name = t[tName]
	r.Gender = registry.Gender(t[tGender])
	r.Nationality = t[tNationality]
	r.Ethnicity = t[tEthnicity]
	r.PoliticalStatus = t[tPoliticalStatus]
	r.IDType = registry.IDType(t[tIDType])
	r.IDNumber = t[tIDNumber]
	r.Phone = t[tPhone]
	r.Email = t[tEmail]
	r.UnitCode = t[tUnitCode]
	r.UnitName = t[tUnitName]
	r.PresidentName = t[tPresidentName]
	r.CommitteeChairName = t[tCommitteeChairName]
	r.DegreeLevel = registry.DegreeLevel(t[tDegreeLevel])
	r.DegreeType = registry.DegreeType(t[tDegreeType])
	r.DegreeCategory = t[tDegreeCategory]
	r.DisciplineCode = t[tDisciplineCode]
	r.DisciplineName = t[tDisciplineName]
	r.CertificateNumber = t[tCertificateNumber]
	r.ResolutionNumber = t[tResolutionNumber]
	r.CertificateStyle = t[tCertificateStyle]
	r.SupervisorName = t[tSupervisorName]
	r.StudentNumber = t[tStudentNumber]
	r.StudyMode = registry.StudyMode(t[tStudyMode])
	r.ApplicationNumber = t[tApplicationNumber]
	r.TrainingUnit = t[tTrainingUnit]
	r.StudyForm = t[tStudyForm]
	r.ThesisTitle = t[tThesisTitle]
	r.ThesisTopicSource = t[tThesisTopicSource]
	r.PhotoRef = t[tPhotoRef]
	r.Status = registry.Status(t[tStatus])
	r.RevocationResolution = t[tRevocationResolution]
	r.RevocationReason = t[tRevocationReason]
	r.KeyID = t[tKeyID]
}

// day is a registry.Date in 8 bytes instead of 24.
type day struct {
	y    int32
	m, d uint8
}

// month is a registry.Month in 8 bytes instead of 16.
type month struct {
	y int32
	m uint8
}

// Flags: ThesisClassified, and which slices were nil rather than empty,
// so that what comes out looks like what went in.
const (
	fClassified uint8 = 1 << iota
	fKeywordsNil
	fSecretNil
	fPersonIndexNil
	fDigestNil
)

// packed is one stored version of a record.
type packed struct {
	blob           string
	ends           [nSpans]uint32 // span k is blob[ends[k-1]:ends[k]]
	birth          day
	conferral      day
	revoked        day
	enrolment      month
	graduation     month
	application    month
	programmeYears int
	flags          uint8
}

// span returns span k of the blob, sharing its memory.
func (p *packed) span(k int) string {
	var start uint32
	if k > 0 {
		start = p.ends[k-1]
	}
	return p.blob[start:p.ends[k]]
}

// pack copies r into one blob. It fails only for dates no validated
// record has (years beyond ±2 billion), rather than storing them wrong.
func pack(r *registry.Sealed) (packed, error) {
	var p packed
	var ok [6]bool
	p.birth, ok[0] = packDay(r.BirthDate)
	p.conferral, ok[1] = packDay(r.ConferralDate)
	p.revoked, ok[2] = packDay(r.RevokedOn)
	p.enrolment, ok[3] = packMonth(r.EnrolmentMonth)
	p.graduation, ok[4] = packMonth(r.GraduationMonth)
	p.application, ok[5] = packMonth(r.ApplicationMonth)
	for _, good := range ok {
		if !good {
			return packed{}, fmt.Errorf("a date of the record is out of range")
		}
	}
	p.programmeYears = r.ProgrammeYears
	if r.ThesisClassified {
		p.flags |= fClassified
	}
	for _, f := range []struct {
		isNil bool
		flag  uint8
	}{
		{r.ThesisKeywords == nil, fKeywordsNil},
		{r.Secret == nil, fSecretNil},
		{r.PersonIndex == nil, fPersonIndexNil},
		{r.Digest == nil, fDigestNil},
	} {
		if f.isNil {
			p.flags |= f.flag
		}
	}

	t := texts(r)
	size := len(r.Secret) + len(r.PersonIndex) + len(r.Digest)
	for _, s := range t {
		size += len(s)
	}
	for _, k := range r.ThesisKeywords {
		size += binary.MaxVarintLen64 + len(k)
	}
	if size > math.MaxUint32 {
		return packed{}, fmt.Errorf("record of %d bytes is too large", size)
	}
	var b strings.Builder
	b.Grow(size)
	for k, s := range t {
		b.WriteString(s)
		p.ends[k] = uint32(b.Len())
	}
	var n [binary.MaxVarintLen64]byte
	for _, k := range r.ThesisKeywords {
		b.Write(n[:binary.PutUvarint(n[:], uint64(len(k)))])
		b.WriteString(k)
	}
	p.ends[sKeywords] = uint32(b.Len())
	b.Write(r.Secret)
	p.ends[sSecret] = uint32(b.Len())
	b.Write(r.PersonIndex)
	p.ends[sPersonIndex] = uint32(b.Len())
	b.Write(r.Digest)
	p.ends[sDigest] = uint32(b.Len())
	p.blob = b.String()
	return p, nil
}

// unpack returns the record: text as substrings of the blob, slices as
// fresh copies the caller may change.
func (p *packed) unpack() registry.Sealed {
	var r registry.Sealed
	var t [nText]string
	for k := range t {
		t[k] = p.span(k)
	}
	setTexts(&r, &t)
	r.BirthDate = p.birth.date()
	r.ConferralDate = p.conferral.date()
	r.RevokedOn = p.revoked.date()
	r.EnrolmentMonth = p.enrolment.month()
	r.GraduationMonth = p.graduation.month()
	r.ApplicationMonth = p.application.month()
	r.ProgrammeYears = p.programmeYears
	r.ThesisClassified = p.flags&fClassified != 0

	if kw := p.span(sKeywords); kw != "" {
		r.ThesisKeywords = make([]string, 0, 4)
		for kw != "" {
			n, w := uvarint(kw)
			r.ThesisKeywords = append(r.ThesisKeywords, kw[w:w+n])
			kw = kw[w+n:]
		}
	} else if p.flags&fKeywordsNil == 0 {
		r.ThesisKeywords = []string{}
	}

	// One allocation for the three byte slices, each capped so that an
	// append to one cannot spill into the next.
	bs := []byte(p.blob[p.ends[sKeywords]:p.ends[sDigest]])
	cut := func(k int, nilFlag uint8) []byte {
		from, to := p.ends[k-1]-p.ends[sKeywords], p.ends[k]-p.ends[sKeywords]
		switch {
		case from < to:
			return bs[from:to:to]
		case p.flags&nilFlag != 0:
			return nil
		}
		return []byte{}
	}
	r.Secret = cut(sSecret, fSecretNil)
	r.PersonIndex = cut(sPersonIndex, fPersonIndexNil)
	r.Digest = cut(sDigest, fDigestNil)
	return r
}

func packDay(d registry.Date) (day, bool) {
	y, m, dd := d.Year(), int(d.Month()), d.Day()
	ok := y >= math.MinInt32 && y <= math.MaxInt32 && m >= 0 && m <= math.MaxUint8 && dd >= 0 && dd <= math.MaxUint8
	return day{int32(y), uint8(m), uint8(dd)}, ok
}

func (d day) date() registry.Date { return registry.NewDate(int(d.y), time.Month(d.m), int(d.d)) }

func packMonth(m registry.Month) (month, bool) {
	y, mm := m.Year(), int(m.Month())
	ok := y >= math.MinInt32 && y <= math.MaxInt32 && mm >= 0 && mm <= math.MaxUint8
	return month{int32(y), uint8(mm)}, ok
}

func (m month) month() registry.Month { return registry.NewMonth(int(m.y), time.Month(m.m)) }

// uvarint decodes a length that pack wrote with binary.PutUvarint.
func uvarint(s string) (n, width int) {
	var x uint64
	var shift uint
	for i := 0; i < len(s); i++ {
		b := s[i]
		if b < 0x80 {
			return int(x | uint64(b)<<shift), i + 1
		}
		x |= uint64(b&0x7f) << shift
		shift += 7
	}
	panic("inmem: corrupt keyword length") // pack wrote it: cannot happen
}
