package synth

// Unit choice and certificate numbers, designed together so that
// certificate numbers are unique without any shared state.
//
// A 16-digit certificate number is unit (5) + level digit + year (4) +
// six digits. Write an index as i = q·10⁶ + r. The six digits are a
// keyed permutation (a Feistel network) of r, so two indices can only
// collide if they share r and thus differ in q. The unit of an index
// depends only on (seed, r, level) and q: a point x is drawn uniformly
// on a circle of circumference W·Q (W the total unit weight of the level)
// and index q·10⁶ + r gets the unit owning point x + q·W, with each unit
// owning an arc of Q times its weight. For a fixed r, the Q points are
// exactly W apart, so as long as no unit's arc is longer than W (checked
// by New), they fall into Q different units: same r and same level means
// different units. Each point on its own is uniform, so every index still
// draws its unit with the right weights.
//
// This guarantees distinct certificate numbers for every index below
// Q·10⁶ = 32,000,000.

const (
	serialSpace = 1_000_000
	unitSpread  = 32 // Q
	// MaxUnique is the number of records whose certificate numbers are
	// guaranteed distinct.
	MaxUnique = unitSpread * serialSpace
)

// unitFor returns the unit index for index i at level lvl.
func (g *Generator) unitFor(i uint64, lvl int) int {
	w := &g.t.unitsByLevel[lvl]
	r, q := i%serialSpace, (i/serialSpace)%unitSpread
	circle := uint64(w.total) * unitSpread
	x := key(g.seed, tagUnit, r*4+uint64(lvl)) % circle
	p := (x + q*uint64(w.total)) % circle
	return w.at(uint32(p / unitSpread))
}

// serial returns the six unit-assigned digits of index i's certificate:
// a 4-round Feistel permutation of i mod 10⁶ over 1000 × 1000.
func (g *Generator) serial(i uint64) uint32 {
	r := uint32(i % serialSpace)
	l, rr := r/1000, r%1000
	for k := range g.certKeys {
		l, rr = rr, (l+uint32(splitmix64(g.certKeys[k]^uint64(rr))%1000))%1000
	}
	return l*1000 + rr
}

// core is what other records of the same person need to know about a
// degree to lay out the person's life: where, what, and for how long.
type core struct {
	unit         int
	professional bool
	field        int // index into the level's catalogue, before year rules
	years        int // bachelor programme length
	topUp        bool
}

// topUpPPM is the share of bachelor's degrees from two-year top-up
// programmes (专升本) after a three-year college diploma.
const topUpPPM = 30_000

// professionalPPM is the share of professional degrees among regular
// masters and doctors. (Nationally it grew from a few percent in 2000 to
// over half of master's degrees after 2017; this is a middle value, and
// year rules turn early draws of later categories into academic degrees.)
var professionalPPM = [3]int{levelMaster: 450_000, levelDoctor: 60_000}

func (g *Generator) core(i uint64, lvl int, equivalent bool) core {
	c := core{unit: g.unitFor(i, lvl)}
	profile := g.t.units[c.unit].profile
	s := newStream(g.seed, tagCore, i)
	switch lvl {
	case levelBachelor:
		c.field = g.t.majors.byProfile[profile].draw(&s)
		c.years = g.t.majors.fields[c.field].years
		if c.years == 4 && s.chance(topUpPPM) {
			c.years, c.topUp = 2, true
		}
		return c
	case levelMaster:
		if !equivalent && s.chance(professionalPPM[lvl]) && g.t.professional.byProfile[profile].total > 0 {
			c.professional = true
			c.field = g.t.professional.byProfile[profile].draw(&s)
			return c
		}
	case levelDoctor:
		if !equivalent && s.chance(professionalPPM[lvl]) && g.t.profDoctor.byProfile[profile].total > 0 {
			c.professional = true
			c.field = g.t.profDoctor.byProfile[profile].draw(&s)
			return c
		}
	}
	c.field = g.t.academic.byProfile[profile].draw(&s)
	return c
}
