package synth

import (
	"bytes"
	"embed"
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"
)

//go:embed data/*.csv
var dataFiles embed.FS

// unit is one degree-granting unit of data/units.csv.
type unit struct {
	code, name, province string
	president, chair     string
	profile              int // index into profileLetters
	size                 int // 1 large research university … 3 teaching-led
}

// profileLetters are the unit profiles of data/units.csv, in the order of
// the per-profile tables below.
const profileLetters = "zgnyscfwatm"

const numProfiles = len(profileLetters)

// field is one entry of a catalogue: an academic discipline, a bachelor
// major or a professional-degree category.
type field struct {
	code, name  string
	category    string // 学科门类 of the first two digits, e.g. 工学
	years       int    // programme length (bachelor majors only)
	since       int    // first conferral year the code is used in; 0 = always
	until       int    // last conferral year; 0 = still used
	fallback    int    // index of the stand-in outside since..until, or -1
	weight      uint32 // national share (professional categories only)
	doctorSince int    // first year of professional doctorates; 0 = none
}

func (f *field) usedIn(year int) bool {
	return (f.since == 0 || year >= f.since) && (f.until == 0 || year <= f.until)
}

// catalogue is a list of fields with, per unit profile, the weights with
// which a unit of that profile confers them.
type catalogue struct {
	fields    []field
	byProfile [numProfiles]weighted
	// openByProfile is byProfile without the fields that have a first
	// year: what a unit conferred before the newer codes existed.
	openByProfile [numProfiles]weighted
}

// resolve returns field i, or its stand-in when i is not used in year,
// or -1 when neither is.
func (c *catalogue) resolve(i, year int) int {
	if c.fields[i].usedIn(year) {
		return i
	}
	if fb := c.fields[i].fallback; fb >= 0 && c.fields[fb].usedIn(year) {
		return fb
	}
	return -1
}

// categoryNames are the 学科门类 by their two-digit code.
var categoryNames = [...]string{
	1: "哲学", 2: "经济学", 3: "法学", 4: "教育学", 5: "文学", 6: "历史学", 7: "理学",
	8: "工学", 9: "农学", 10: "医学", 11: "军事学", 12: "管理学", 13: "艺术学", 14: "交叉学科",
}

func categoryOf(code string) (string, error) {
	n, err := strconv.Atoi(code[:2])
	if err != nil || n < 1 || n >= len(categoryNames) {
		return "", fmt.Errorf("code %s: no discipline category %q", code, code[:2])
	}
	return categoryNames[n], nil
}

// prefixWeight gives every field whose code starts with prefix a share of
// weight w (split evenly among them).
type prefixWeight struct {
	prefix string
	w      uint32
}

// Which disciplines units of each profile confer, by code prefix. Rough
// shapes, not statistics: an engineering university confers mostly 08, a
// medical one 10, a sports university 0403. Weights are in tenths.
var academicWeights = [numProfiles][]prefixWeight{
	/* z */ {{"01", 20}, {"02", 60}, {"03", 70}, {"04", 40}, {"05", 70}, {"06", 20}, {"07", 140}, {"08", 280}, {"09", 20}, {"10", 100}, {"11", 2}, {"12", 120}, {"13", 30}, {"14", 10}},
	/* g */ {{"07", 120}, {"08", 620}, {"12", 120}, {"02", 40}, {"03", 20}, {"05", 20}, {"13", 20}, {"01", 10}, {"0305", 10}, {"1401", 20}},
	/* n */ {{"09", 450}, {"07", 80}, {"0710", 70}, {"08", 150}, {"12", 100}, {"02", 50}, {"03", 20}, {"05", 10}},
	/* y */ {{"10", 850}, {"0710", 50}, {"07", 30}, {"12", 40}, {"0831", 30}},
	/* s */ {{"04", 220}, {"05", 180}, {"07", 180}, {"01", 30}, {"03", 60}, {"06", 60}, {"02", 50}, {"08", 60}, {"12", 60}, {"13", 80}, {"0305", 20}},
	/* c */ {{"02", 450}, {"12", 350}, {"03", 80}, {"07", 40}, {"05", 40}, {"08", 30}, {"0305", 10}},
	/* f */ {{"03", 700}, {"12", 100}, {"02", 80}, {"05", 60}, {"01", 30}, {"1402", 30}, {"11", 5}},
	/* w */ {{"0502", 550}, {"05", 150}, {"03", 60}, {"12", 60}, {"02", 60}, {"04", 50}},
	/* a */ {{"13", 850}, {"05", 80}, {"12", 30}, {"08", 20}},
	/* t */ {{"0403", 850}, {"0402", 40}, {"1002", 30}, {"12", 50}, {"05", 30}},
	/* m */ {{"0304", 120}, {"03", 130}, {"050107", 100}, {"05", 120}, {"12", 100}, {"02", 100}, {"07", 100}, {"08", 100}, {"04", 50}, {"06", 80}},
}

var majorWeights = [numProfiles][]prefixWeight{
	/* z */ {{"01", 10}, {"02", 60}, {"03", 60}, {"04", 40}, {"05", 90}, {"06", 20}, {"07", 100}, {"08", 300}, {"09", 20}, {"10", 80}, {"12", 150}, {"13", 70}},
	/* g */ {{"07", 60}, {"08", 700}, {"12", 140}, {"02", 30}, {"05", 30}, {"13", 30}, {"03", 10}},
	/* n */ {{"09", 400}, {"07", 50}, {"0710", 50}, {"08", 200}, {"12", 150}, {"02", 50}},
	/* y */ {{"10", 850}, {"07", 30}, {"12", 50}, {"0826", 30}},
	/* s */ {{"04", 220}, {"05", 200}, {"07", 200}, {"06", 50}, {"03", 50}, {"02", 40}, {"08", 80}, {"12", 60}, {"13", 100}},
	/* c */ {{"02", 400}, {"12", 400}, {"03", 60}, {"07", 40}, {"05", 50}, {"08", 50}},
	/* f */ {{"03", 650}, {"12", 120}, {"02", 80}, {"05", 80}, {"01", 20}},
	/* w */ {{"0502", 650}, {"05", 150}, {"12", 80}, {"02", 70}, {"03", 50}},
	/* a */ {{"13", 850}, {"05", 80}, {"0828", 40}, {"12", 30}},
	/* t */ {{"0402", 750}, {"04", 100}, {"12", 80}, {"05", 70}},
	/* m */ {{"03", 150}, {"05", 200}, {"12", 120}, {"02", 100}, {"07", 120}, {"08", 150}, {"04", 80}, {"06", 80}},
}

// Unit weights by size class and degree level: how much of a level's
// output a unit of that class has. Doctorates come from classes 1–2.
var unitWeights = [3][3]uint32{
	// size 1, 2, 3
	levelBachelor: {40, 18, 6},
	levelMaster:   {40, 20, 5},
	levelDoctor:   {40, 12, 0},
}

// Level indexes for the tables above.
const (
	levelBachelor = iota
	levelMaster
	levelDoctor
)

// tables is everything New precomputes; it is never written afterwards,
// so generators share it freely across goroutines.
type tables struct {
	units        []unit
	unitsByLevel [3]weighted
	academic     catalogue // postgraduate academic disciplines
	majors       catalogue // bachelor majors
	professional catalogue // professional-degree categories (masters)
	profDoctor   catalogue // the same fields, weighted for doctorates
}

func loadTables() (*tables, error) {
	t := &tables{}
	var err error
	if t.units, err = loadUnits(); err != nil {
		return nil, err
	}
	for lvl := range t.unitsByLevel {
		ws := make([]uint32, len(t.units))
		for i, u := range t.units {
			ws[i] = unitWeights[lvl][u.size-1]
		}
		t.unitsByLevel[lvl] = newWeighted(ws)
	}
	if t.academic, err = loadCatalogue("data/disciplines.csv", academicWeights); err != nil {
		return nil, err
	}
	if t.majors, err = loadCatalogue("data/majors.csv", majorWeights); err != nil {
		return nil, err
	}
	if t.professional, err = loadCatalogue("data/professional.csv", [numProfiles][]prefixWeight{}); err != nil {
		return nil, err
	}
	t.profDoctor = catalogue{fields: t.professional.fields}
	// A profile confers a professional category as often as it confers
	// academic degrees of the same discipline category, times the
	// category's national weight.
	for p := range numProfiles {
		master := make([]uint32, len(t.professional.fields))
		doctor := make([]uint32, len(t.professional.fields))
		for i, f := range t.professional.fields {
			var cat uint32
			for _, pw := range academicWeights[p] {
				if pw.prefix[:2] == f.code[:2] {
					cat += pw.w
				}
			}
			master[i] = cat * f.weight
			if f.doctorSince > 0 {
				doctor[i] = master[i]
			}
		}
		t.professional.byProfile[p] = newWeighted(master)
		t.profDoctor.byProfile[p] = newWeighted(doctor)
	}
	return t, nil
}

// readCSV returns the records of an embedded CSV file after its header,
// checking the header and skipping '#' comment lines.
func readCSV(name string, header ...string) ([][]string, error) {
	b, err := dataFiles.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	r := csv.NewReader(bytes.NewReader(b))
	r.Comment = '#'
	r.FieldsPerRecord = len(header)
	head, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("%s: header: %w", name, err)
	}
	if strings.Join(head, ",") != strings.Join(header, ",") {
		return nil, fmt.Errorf("%s: header is %q, want %q", name, head, header)
	}
	var rows [][]string
	for {
		rec, err := r.Read()
		if err == io.EOF {
			return rows, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		rows = append(rows, rec)
	}
}

var unitHeader = []string{"code", "name", "province", "profile", "size", "president", "committee_chair"}

func loadUnits() ([]unit, error) {
	rows, err := readCSV("data/units.csv", unitHeader...)
	if err != nil {
		return nil, err
	}
	units := make([]unit, 0, len(rows))
	seen := make(map[string]bool, len(rows))
	for _, row := range rows {
		u := unit{code: row[0], name: row[1], province: row[2], president: row[5], chair: row[6]}
		u.profile = strings.IndexByte(profileLetters, row[3][0])
		u.size, err = strconv.Atoi(row[4])
		switch {
		case len(u.code) != 5 || !digits(u.code):
			return nil, fmt.Errorf("units.csv: bad unit code %q", u.code)
		case seen[u.code]:
			return nil, fmt.Errorf("units.csv: unit %s listed twice", u.code)
		case len(u.province) != 2 || !digits(u.province):
			return nil, fmt.Errorf("units.csv: unit %s: bad province %q", u.code, u.province)
		case len(row[3]) != 1 || u.profile < 0:
			return nil, fmt.Errorf("units.csv: unit %s: unknown profile %q", u.code, row[3])
		case err != nil || u.size < 1 || u.size > 3:
			return nil, fmt.Errorf("units.csv: unit %s: size must be 1, 2 or 3", u.code)
		case u.president == "" || u.chair == "":
			return nil, fmt.Errorf("units.csv: unit %s: president or committee chair missing", u.code)
		}
		seen[u.code] = true
		units = append(units, u)
	}
	return units, nil
}

// loadCatalogue reads one of the catalogue files: disciplines (code,
// name, since, until, fallback), majors (code, name, years, since,
// until, fallback) or professional categories (code, name, weight,
// since, until, fallback, doctor_since).
func loadCatalogue(name string, weights [numProfiles][]prefixWeight) (catalogue, error) {
	var header []string
	switch name {
	case "data/disciplines.csv":
		header = []string{"code", "name", "since", "until", "fallback"}
	case "data/majors.csv":
		header = []string{"code", "name", "years", "since", "until", "fallback"}
	default:
		header = []string{"code", "name", "weight", "since", "until", "fallback", "doctor_since"}
	}
	rows, err := readCSV(name, header...)
	if err != nil {
		return catalogue{}, err
	}
	col := func(h string) int {
		for i, x := range header {
			if x == h {
				return i
			}
		}
		return -1
	}
	num := func(row []string, h string) (int, error) {
		i := col(h)
		if i < 0 {
			return 0, nil
		}
		n, err := strconv.Atoi(row[i])
		if err != nil {
			return 0, fmt.Errorf("%s: %s %s: %s is not a number", name, row[0], h, row[i])
		}
		return n, nil
	}
	c := catalogue{fields: make([]field, len(rows))}
	index := make(map[string]int, len(rows))
	for i, row := range rows {
		f := field{code: row[0], name: row[1], fallback: -1}
		if f.category, err = categoryOf(f.code); err != nil {
			return catalogue{}, fmt.Errorf("%s: %w", name, err)
		}
		var w int
		for _, x := range []struct {
			h   string
			dst *int
		}{{"years", &f.years}, {"since", &f.since}, {"until", &f.until}, {"weight", &w}, {"doctor_since", &f.doctorSince}} {
			if *x.dst, err = num(row, x.h); err != nil {
				return catalogue{}, err
			}
		}
		f.weight = uint32(w)
		if _, dup := index[f.code]; dup {
			return catalogue{}, fmt.Errorf("%s: code %s listed twice", name, f.code)
		}
		index[f.code] = i
		c.fields[i] = f
	}
	fb := col("fallback")
	for i, row := range rows {
		if row[fb] == "" {
			continue
		}
		j, ok := index[row[fb]]
		if !ok {
			return catalogue{}, fmt.Errorf("%s: %s: fallback %s is not in the file", name, row[0], row[fb])
		}
		c.fields[i].fallback = j
	}
	for p := range numProfiles {
		if len(weights[p]) == 0 {
			continue
		}
		ws := make([]uint32, len(c.fields))
		open := make([]uint32, len(c.fields))
		for _, pw := range weights[p] {
			var match []int
			for i, f := range c.fields {
				if strings.HasPrefix(f.code, pw.prefix) {
					match = append(match, i)
				}
			}
			if len(match) == 0 {
				return catalogue{}, fmt.Errorf("%s: profile %c: no code starts with %s", name, profileLetters[p], pw.prefix)
			}
			for _, i := range match {
				ws[i] += pw.w * 1000 / uint32(len(match))
				if c.fields[i].since == 0 {
					open[i] = ws[i]
				}
			}
		}
		c.byProfile[p] = newWeighted(ws)
		c.openByProfile[p] = newWeighted(open)
	}
	return c, nil
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
