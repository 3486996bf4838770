package synth

import "testing"

func TestTables(t *testing.T) {
	tb, err := loadTables()
	if err != nil {
		t.Fatal(err)
	}
	if len(tb.units) < 300 {
		t.Errorf("%d units, want at least 300", len(tb.units))
	}
	// The certificate-number design needs every unit's arc to be at most
	// the spacing of the Q points (see core.go).
	for lvl, w := range tb.unitsByLevel {
		prev := uint32(0)
		for i, c := range w.cum {
			if (c-prev)*unitSpread > w.total {
				t.Errorf("level %d: unit %s weighs %d of %d, too much for %d-fold spreading", lvl, tb.units[i].code, c-prev, w.total, unitSpread)
			}
			prev = c
		}
	}
	// Every academic discipline, and every bachelor major but the arts
	// ones (redrawn before 2012, see majors.csv), must resolve to a code in
	// use in every year the generator covers.
	for _, c := range []struct {
		name string
		cat  *catalogue
	}{{"disciplines", &tb.academic}, {"majors", &tb.majors}} {
		for i, f := range c.cat.fields {
			if c.cat == &tb.majors && f.code[:2] == "13" {
				continue
			}
			for y := firstYear - 15; y <= lastYear; y++ {
				j := c.cat.resolve(i, y)
				if j < 0 || !c.cat.fields[j].usedIn(y) {
					t.Errorf("%s: %s has no code for %d", c.name, f.code, y)
					break
				}
			}
		}
	}
	if f := tb.majors.fields[0]; f.code != "010101" || f.years != 4 || f.since != 0 || f.until != 0 {
		t.Errorf("the last-resort major %s is not a 4-year major of every year", f.code)
	}
	// Every profile confers something at every level.
	for p := range numProfiles {
		if tb.academic.byProfile[p].total == 0 || tb.majors.byProfile[p].total == 0 {
			t.Errorf("profile %c confers nothing", profileLetters[p])
		}
	}
	for _, u := range tb.units {
		if tb.provinceIndexed(u.province) < 0 {
			t.Errorf("unit %s: province %s has no address codes", u.code, u.province)
		}
	}
}

func (tb *tables) provinceIndexed(code string) int {
	for i, p := range provinces {
		if p.code == code {
			return i
		}
	}
	return -1
}

func TestSerialIsPermutation(t *testing.T) {
	g := New(99)
	seen := make([]bool, serialSpace)
	for i := range serialSpace {
		s := g.serial(uint64(i))
		if s >= serialSpace || seen[s] {
			t.Fatalf("serial(%d) = %d repeats or is out of range", i, s)
		}
		seen[s] = true
	}
}
