package registry

import (
	"fmt"
	"time"
)

// Date is a calendar date without a time zone, written YYYY-MM-DD.
// The zero value means "not given".
type Date struct {
	y int
	m time.Month
	d int
}

// NewDate returns the date y-m-d; it does not check that the day exists
// (ParseDate does).
func NewDate(y int, m time.Month, d int) Date { return Date{y, m, d} }

// DateOf returns the calendar date of t in t's location.
func DateOf(t time.Time) Date {
	y, m, d := t.Date()
	return Date{y, m, d}
}

// ParseDate reads YYYY-MM-DD and rejects days that do not exist.
func ParseDate(s string) (Date, error) {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return Date{}, fmt.Errorf("date %q: want YYYY-MM-DD", s)
	}
	y, ok1 := atoiDigits(s[0:4])
	m, ok2 := atoiDigits(s[5:7])
	d, ok3 := atoiDigits(s[8:10])
	if !ok1 || !ok2 || !ok3 {
		return Date{}, fmt.Errorf("date %q: want YYYY-MM-DD", s)
	}
	if m < 1 || m > 12 || d < 1 || d > daysIn(y, time.Month(m)) || y < 1 {
		return Date{}, fmt.Errorf("date %q does not exist", s)
	}
	return Date{y, time.Month(m), d}, nil
}

func (d Date) IsZero() bool       { return d == Date{} }
func (d Date) Year() int          { return d.y }
func (d Date) Month() time.Month  { return d.m }
func (d Date) Day() int           { return d.d }
func (d Date) YearMonth() Month   { return Month{d.y, d.m} }
func (d Date) Before(e Date) bool { return d.Compare(e) < 0 }
func (d Date) After(e Date) bool  { return d.Compare(e) > 0 }

// Compare returns -1, 0 or +1 as d is before, equal to or after e.
func (d Date) Compare(e Date) int {
	switch {
	case d.y != e.y:
		return sign(d.y - e.y)
	case d.m != e.m:
		return sign(int(d.m) - int(e.m))
	default:
		return sign(d.d - e.d)
	}
}

// Time returns midnight UTC of d, for drivers that want a time.Time.
func (d Date) Time() time.Time { return time.Date(d.y, d.m, d.d, 0, 0, 0, 0, time.UTC) }

func (d Date) String() string {
	if d.IsZero() {
		return ""
	}
	if d.y < 0 || d.y > 9999 || d.m < 1 || d.m > 12 || d.d < 1 || d.d > 31 {
		return fmt.Sprintf("%04d-%02d-%02d", d.y, int(d.m), d.d)
	}
	// Every public answer formats a date or two: without fmt.
	b := [10]byte{'0', '0', '0', '0', '-', '0', '0', '-', '0', '0'}
	y, m, day := d.y, int(d.m), d.d
	b[0], b[1], b[2], b[3] = byte('0'+y/1000), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10)
	b[5], b[6] = byte('0'+m/10), byte('0'+m%10)
	b[8], b[9] = byte('0'+day/10), byte('0'+day%10)
	return string(b[:])
}

func (d Date) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

func (d *Date) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*d = Date{}
		return nil
	}
	v, err := ParseDate(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// Month is a calendar month, written YYYY-MM. The zero value means "not given".
type Month struct {
	y int
	m time.Month
}

func NewMonth(y int, m time.Month) Month { return Month{y, m} }

// ParseMonth reads YYYY-MM.
func ParseMonth(s string) (Month, error) {
	if len(s) != 7 || s[4] != '-' {
		return Month{}, fmt.Errorf("month %q: want YYYY-MM", s)
	}
	y, ok1 := atoiDigits(s[0:4])
	m, ok2 := atoiDigits(s[5:7])
	if !ok1 || !ok2 || m < 1 || m > 12 || y < 1 {
		return Month{}, fmt.Errorf("month %q: want YYYY-MM", s)
	}
	return Month{y, time.Month(m)}, nil
}

func (m Month) IsZero() bool      { return m == Month{} }
func (m Month) Year() int         { return m.y }
func (m Month) Month() time.Month { return m.m }

// Compare returns -1, 0 or +1 as m is before, equal to or after n.
func (m Month) Compare(n Month) int {
	if m.y != n.y {
		return sign(m.y - n.y)
	}
	return sign(int(m.m) - int(n.m))
}

func (m Month) String() string {
	if m.IsZero() {
		return ""
	}
	return fmt.Sprintf("%04d-%02d", m.y, int(m.m))
}

func (m Month) MarshalText() ([]byte, error) { return []byte(m.String()), nil }

func (m *Month) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*m = Month{}
		return nil
	}
	v, err := ParseMonth(string(b))
	if err != nil {
		return err
	}
	*m = v
	return nil
}

func atoiDigits(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, len(s) > 0
}

func daysIn(y int, m time.Month) int {
	return time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

func sign(n int) int {
	switch {
	case n < 0:
		return -1
	case n > 0:
		return 1
	}
	return 0
}
