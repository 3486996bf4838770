package registry

import "time"

// Date rules. Dates are compared at the precision the record has: the
// conferral date against the graduation month compares months, since a
// holder graduating in June may have the degree conferred on any day of
// June (Art. 10 only forbids conferral before graduation).
const (
	// firstConferralYear: the Regulations on Academic Degrees took effect
	// on 1 January 1981; no degree was conferred under them before.
	firstConferralYear = 1981
	// minAge and maxAge bound the holder's age at enrolment and conferral.
	// The youngest undergraduates of the special classes for the gifted
	// enrol at about 14; nobody receives a degree past 100.
	minAge = 14
	maxAge = 100
	// bachelorSlackYears: a bachelor's programme may end this many years
	// before or after enrolment + programme_years. Two years earlier covers
	// graduation ahead of time under the credit system; two years later
	// covers suspension of study and the extension most units allow.
	// Further out, programme_years or one of the months is almost surely
	// wrong.
	bachelorSlackYears = 2
)

func (c *checker) dates() {
	r := c.r
	birth := c.date("birth_date", r.BirthDate)
	conf := c.date("conferral_date", r.ConferralDate)
	if conf && r.ConferralDate.Year() < firstConferralYear {
		c.add("conferral_date", CodeOutOfRange, "conferral_date is before 1981, when the degree system began")
	}
	enrol := c.month("enrolment_month", r.EnrolmentMonth)
	grad := c.month("graduation_month", r.GraduationMonth)
	app := c.month("application_month", r.ApplicationMonth)

	if conf && grad && r.ConferralDate.YearMonth().Compare(r.GraduationMonth) < 0 {
		c.add("conferral_date", CodeOrder, "conferral_date may not precede graduation_month (Art. 10)")
	}
	if enrol && grad && r.EnrolmentMonth.Compare(r.GraduationMonth) >= 0 {
		c.add("graduation_month", CodeOrder, "graduation_month must come after enrolment_month")
	} else if enrol && grad && r.Kind == KindBachelor &&
		r.ProgrammeYears >= minProgrammeYears && r.ProgrammeYears <= maxProgrammeYears {
		took := monthIndex(r.GraduationMonth) - monthIndex(r.EnrolmentMonth)
		nominal := 12 * r.ProgrammeYears
		if took < nominal-12*bachelorSlackYears || took > nominal+12*bachelorSlackYears {
			c.add("graduation_month", CodeImplausible, "graduation_month is more than 2 years away from enrolment_month plus programme_years")
		}
	}
	if app && conf && r.ApplicationMonth.Compare(r.ConferralDate.YearMonth()) > 0 {
		c.add("application_month", CodeOrder, "application_month may not come after conferral_date")
	}

	if birth && conf {
		switch age := ageOn(r.BirthDate, r.ConferralDate); {
		case age < minAge:
			c.add("birth_date", CodeImplausible, "birth_date makes the holder younger than 14 at conferral")
		case age > maxAge:
			c.add("birth_date", CodeImplausible, "birth_date makes the holder older than 100 at conferral")
		}
	}
	if birth && enrol && monthIndex(r.EnrolmentMonth)-monthIndex(r.BirthDate.YearMonth()) < 12*minAge {
		c.add("birth_date", CodeImplausible, "birth_date makes the holder younger than 14 at enrolment")
	}

	if !r.RevokedOn.IsZero() && c.date("revoked_on", r.RevokedOn) && conf && r.RevokedOn.Before(r.ConferralDate) {
		c.add("revoked_on", CodeOrder, "revoked_on may not precede conferral_date")
	}
}

// date checks that a date is given, exists and is not after today, and
// reports whether it can be compared with others (given and real; a date
// in the future is still comparable).
func (c *checker) date(field string, d Date) bool {
	switch {
	case d.IsZero():
		c.required(field, "")
		return false
	case !realDate(d):
		c.add(field, CodeFormat, field+" is not a real date")
		return false
	case !c.today.IsZero() && d.After(c.today):
		c.add(field, CodeFuture, field+" is after today")
	}
	return true
}

// month checks an optional month: that it exists and is not after the
// current month. Whether the field belongs to the record's kind is
// checked in kind().
func (c *checker) month(field string, m Month) bool {
	switch {
	case m.IsZero():
		return false
	case m.y < 1 || m.y > 9999 || m.m < time.January || m.m > time.December:
		c.add(field, CodeFormat, field+" is not a real month")
		return false
	case !c.today.IsZero() && m.Compare(c.today.YearMonth()) > 0:
		c.add(field, CodeFuture, field+" is after the current month")
	}
	return true
}

// realDate: Date values from ParseDate always exist, but NewDate and
// drivers can build any triple.
func realDate(d Date) bool {
	return d.y >= 1 && d.y <= 9999 && d.m >= time.January && d.m <= time.December &&
		d.d >= 1 && d.d <= monthDays(d.y, d.m)
}

func monthDays(y int, m time.Month) int {
	switch m {
	case time.February:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case time.April, time.June, time.September, time.November:
		return 30
	}
	return 31
}

func monthIndex(m Month) int { return m.y*12 + int(m.m) - 1 }

// ageOn is the age in whole years on day d of someone born on b.
func ageOn(b, d Date) int {
	age := d.y - b.y
	if d.m < b.m || d.m == b.m && d.d < b.d {
		age--
	}
	return age
}
