package synth

import (
	"bufio"
	"bytes"
	"flag"
	"os"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "fill in missing president and committee-chair names in data/units.csv")

// TestUnitsFile keeps data/units.csv complete. With -update it fills in
// empty president and committee_chair columns with made-up names derived
// from the unit code (so re-running changes nothing); in about half of
// the units the president chairs the degree committee, as is common.
func TestUnitsFile(t *testing.T) {
	const path = "data/units.csv"
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	names := newNameTables()
	var out bytes.Buffer
	changed := false
	sc := bufio.NewScanner(bytes.NewReader(raw))
	for sc.Scan() {
		line := sc.Text()
		cols := strings.Split(line, ",")
		if strings.HasPrefix(line, "#") || cols[0] == "code" || len(cols) != len(unitHeader) {
			out.WriteString(line + "\n")
			continue
		}
		if cols[5] == "" || cols[6] == "" {
			if !*update {
				t.Errorf("unit %s has no president or committee chair; run go test -run TestUnitsFile -update", cols[0])
				continue
			}
			s := newStream(0, tagName, uint64(len(cols[0]))<<32|uint64(atoi(cols[0])))
			pres, _ := appendHanName(nil, nil, &s, &names, s.chance(150_000), 1962)
			cols[5] = string(pres)
			cols[6] = cols[5]
			if s.chance(500_000) {
				chair, _ := appendHanName(nil, nil, &s, &names, s.chance(150_000), 1962)
				cols[6] = string(chair)
			}
			changed = true
		}
		out.WriteString(strings.Join(cols, ",") + "\n")
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if changed {
		if err := os.WriteFile(path, out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func atoi(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n
}
