package synth

import "time"

// A person: who they are and when they took each of their degrees. All
// of it comes from the person's own stream (plus the cores of their
// degrees), so every record of the person computes the same person.

// origin separates mainland Chinese citizens from the small shares of
// Hong Kong, Macao and Taiwan residents and of foreign nationals.
type origin int

const (
	originMainland origin = iota
	originHKMacao
	originTaiwan
	originForeign
)

const (
	foreignPPM  = 10_000
	hkMacaoPPM  = 3_000
	taiwanPPM   = 1_000
	femalePPM   = 500_000
	phonePPM    = 900_000
	emailPPM    = 450_000
	homeUnitPPM = 600_000 // holders from the province of their first university
)

type person struct {
	key       uint64
	origin    origin
	female    bool
	style     nameStyle
	ethnicity string
	nation    int    // index into nations (foreign holders)
	county    string // resident-ID address code (mainland holders)
	birth     ymd
	idSeq     int // resident-ID sequence, odd for men
	degrees   [3]degreeDates
}

// ymd is a date as plain numbers, for arithmetic before it becomes a
// registry.Date.
type ymd struct{ y, m, d int }

// shift moves a set date by n years; an unset one (month 0) stays unset.
func (x *ymd) shift(n int) {
	if x.m != 0 {
		x.y += n
	}
}

// degreeDates is the timeline of one degree. For an equivalent-level
// degree enrol and grad are zero and apply is set.
type degreeDates struct {
	enrol, grad, apply ymd // day unused
	conferral          ymd
	partTime           bool
}

// The conferral years the data set covers, and their weights: few in
// 2000, rising with the expansion of higher education to 2012, slowly
// after. No date is ever after lastYear, whatever the clock says.
const (
	firstYear = 2000
	lastYear  = 2025
)

func yearWeights() []uint32 {
	ws := make([]uint32, lastYear-firstYear+1)
	for i := range ws {
		y := firstYear + i
		if y <= 2012 {
			ws[i] = uint32(2 * (3 + y - firstYear))
		} else {
			ws[i] = uint32(30 + y - 2012)
		}
	}
	return ws
}

// person computes the person of placement pl; cores are the cores of
// their degrees in path order.
func (g *Generator) person(pl *placement, cores *[3]core) person {
	p := person{key: pl.personKey()}
	s := newStream(g.seed, tagPerson, p.key)
	switch x := s.intn(1_000_000); {
	case x < foreignPPM:
		p.origin = originForeign
	case x < foreignPPM+hkMacaoPPM:
		p.origin = originHKMacao
	case x < foreignPPM+hkMacaoPPM+taiwanPPM:
		p.origin = originTaiwan
	}
	p.female = s.chance(femalePPM)
	g.timeline(&p, &s, pl, cores)

	switch p.origin {
	case originForeign:
		p.style = nameForeign
		p.nation = g.names.nations.draw(&s)
		// GB/T 3304 has no code for foreign nationals; 97 ("other") is
		// what registries commonly record for them.
		p.ethnicity = "97"
		return p
	case originHKMacao, originTaiwan:
		p.style, p.ethnicity = nameHan, "01"
		return p
	}
	p.style, p.ethnicity = nameHan, "01"
	x := s.intn(1_000_000)
	for _, e := range ethnicGroups {
		if x < e.ppm {
			p.style, p.ethnicity = e.style, e.code
			p.county = pick(&s, e.counties)
			break
		}
		x -= e.ppm
	}
	if p.county == "" {
		var prov *province
		if s.chance(homeUnitPPM) {
			prov = g.provinceOf(g.t.units[cores[0].unit].province)
		}
		if prov == nil {
			prov = &provinces[g.provinces.draw(&s)]
		}
		p.county = pick(&s, prov.counties)
	}
	// Sequence numbers 001–999 within the address code and birth date;
	// the last digit is odd for men.
	p.idSeq = 2*s.between(0, 498) + 1
	if p.female {
		p.idSeq++
	}
	return p
}

func (g *Generator) provinceOf(code string) *province {
	if len(code) != 2 {
		return nil
	}
	n := int(code[0]-'0')*10 + int(code[1]-'0')
	if n < 0 || n >= len(g.provinceIndex) || g.provinceIndex[n] < 0 {
		return nil
	}
	return &provinces[g.provinceIndex[n]]
}

// timeline lays out the person's degrees on relative years (the first
// enrolment, or application, in year 0), draws the first conferral year,
// shifts everything there and derives the birth date from the age at the
// start.
func (g *Generator) timeline(p *person, s *stream, pl *placement, cores *[3]core) {
	var age int
	year := 0    // relative year of the next enrolment
	var prev ymd // graduation of the previous degree
	for k := 0; k < pl.path.n; k++ {
		lvl := pl.path.levels[k]
		d := &p.degrees[k]
		if k > 0 {
			// Gap after the previous degree: most go straight on.
			gap := 0
			switch x := s.intn(100); {
			case x < 55:
			case x < 70:
				gap = 1
			default:
				gap = s.between(2, 6)
			}
			year = prev.y + gap
			if prev.m > 9 {
				year++ // a December graduate starts the next September
			}
		}
		if pl.path.equivalent {
			// Equivalent level: no enrolment; the application precedes
			// the conferral by one to two and a half years.
			if lvl == levelMaster {
				age = s.between(27, 42)
			} else {
				age = s.between(33, 48)
			}
			d.apply = ymd{0, s.between(1, 12), 1}
			back := s.between(12, 30)
			m := d.apply.y*12 + d.apply.m - 1 + back
			d.conferral = ymd{m / 12, m%12 + 1, 0}
			switch {
			case d.conferral.m <= 7:
				d.conferral.m, d.conferral.d = 6, s.between(5, 28)
			default:
				d.conferral.m, d.conferral.d = 12, s.between(5, 28)
			}
			continue // an equivalent-level path has this one degree
		}
		d.enrol = ymd{year, 9, 1}
		var dur int
		december := false
		switch lvl {
		case levelBachelor:
			dur = cores[k].years
		case levelMaster:
			if cores[k].professional {
				dur = 2 + s.intn(2)
				d.partTime = s.chance(250_000)
			} else {
				dur = 3
				if s.chance(200_000) {
					dur = 2
				}
				d.partTime = s.chance(30_000)
			}
			december = s.chance(120_000)
		case levelDoctor:
			switch x := s.intn(100); {
			case x < 20:
				dur = 3
			case x < 60:
				dur = 4
			case x < 88:
				dur = 5
			default:
				dur = 6
			}
			d.partTime = s.chance(80_000)
			december = s.chance(300_000)
		}
		switch {
		case december:
			d.grad = ymd{year + dur, 12, 1}
			d.conferral = ymd{year + dur, 12, s.between(5, 28)}
		case lvl == levelBachelor && s.chance(150_000):
			d.grad = ymd{year + dur, 7, 1}
			d.conferral = ymd{year + dur, 7, s.between(1, 15)}
		default:
			d.grad = ymd{year + dur, 6, 1}
			if s.chance(700_000) {
				d.conferral = ymd{year + dur, 6, s.between(10, 30)}
			} else {
				d.conferral = ymd{year + dur, 7, s.between(1, 10)}
			}
		}
		prev = d.grad
		if k == 0 {
			age = g.startAge(s, lvl, cores[0].topUp)
		}
	}

	// Draw the first conferral year so that the last stays within
	// lastYear, then shift the timeline there.
	first, last := p.degrees[0].conferral.y, p.degrees[pl.path.n-1].conferral.y
	span := last - first
	y1 := lastYear - span // a long path may start before firstYear
	if room := lastYear - span - firstYear + 1; room > 0 {
		y1 = firstYear + g.years.atPrefix(s, room)
	}
	shift := y1 - first
	for k := 0; k < pl.path.n; k++ {
		d := &p.degrees[k]
		d.enrol.shift(shift)
		d.grad.shift(shift)
		d.apply.shift(shift)
		d.conferral.shift(shift)
	}

	// Born age years before the start of the first degree (September of
	// the enrolment year, or the application month).
	start := p.degrees[0].enrol
	if pl.path.equivalent {
		start = p.degrees[0].apply
	}
	by := start.y - age
	bm := s.between(1, 12)
	if bm >= start.m && s.chance(500_000) {
		by-- // born later in the year: already the drawn age at the start
	}
	p.birth = ymd{by, bm, s.between(1, daysIn(by, bm))}
}

// startAge is the age at the first enrolment of a person's first degree.
func (g *Generator) startAge(s *stream, lvl int, topUp bool) int {
	x := s.intn(100)
	switch {
	case lvl == levelBachelor && topUp:
		return s.between(20, 23)
	case lvl == levelBachelor:
		switch {
		case x < 12:
			return 17
		case x < 70:
			return 18
		case x < 92:
			return 19
		}
		return 20
	case lvl == levelMaster:
		switch {
		case x < 5:
			return 21
		case x < 50:
			return 22
		case x < 70:
			return 23
		}
		return s.between(24, 30)
	}
	switch {
	case x < 50:
		return s.between(24, 27)
	case x < 85:
		return s.between(28, 31)
	}
	return s.between(32, 38)
}

func daysIn(y, m int) int {
	return time.Date(y, time.Month(m)+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// atPrefix draws among the first n entries of w by their weights.
func (w *weighted) atPrefix(s *stream, n int) int {
	if n > len(w.cum) {
		n = len(w.cum)
	}
	if n <= 1 {
		return 0
	}
	return w.at(uint32(s.intn(int(w.cum[n-1]))))
}
