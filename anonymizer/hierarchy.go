package anonymizer

import (
	"errors"
	"fmt"
	"io"

	"github.com/degreegate/degreegate/anonymizer/csvio"
)

// Top is the label of the most general level of every hierarchy, and the
// value a suppressed row carries in every quasi-identifier.
const Top = "*"

// Hierarchy generalises the values of one quasi-identifier: level 0 is the
// value itself, each further level coarser, and the last level is Top.
// It comes either from a table (an ARX-style CSV file: ParseHierarchy,
// NewHierarchy), which also fixes the domain of leaf values, or from a
// function (NewFuncHierarchy) for the built-in hierarchies of the degree
// datasets (dates, discipline codes, units), whose domain is whatever
// values occur. The engine treats both alike and checks that the
// generalisations are consistent as it meets values.
type Hierarchy struct {
	height int
	leaves []string            // table hierarchies: leaves in file order
	chains map[string][]string // table hierarchies: leaf → labels at levels 0..height-1
	fn     func(string) ([]string, error)
}

// ErrUnknownValue: a value has no line in a table hierarchy.
var ErrUnknownValue = errors.New("value not in the hierarchy")

// Height is the number of levels, the leaf level and Top included.
func (h *Hierarchy) Height() int { return h.height }

// Leaves returns the leaf values of a table hierarchy in file order, nil
// for a function hierarchy.
func (h *Hierarchy) Leaves() []string { return h.leaves }

// Chain returns v's labels at levels 0 … Height()-1.
func (h *Hierarchy) Chain(v string) ([]string, error) {
	if h.fn != nil {
		c, err := h.fn(v)
		if err != nil {
			return nil, err
		}
		if len(c) != h.height || c[len(c)-1] != Top {
			return nil, fmt.Errorf("hierarchy function gave %d levels ending in a non-%q label, want %d ending in %q", len(c), Top, h.height, Top)
		}
		return c, nil
	}
	c, ok := h.chains[v]
	if !ok {
		return nil, ErrUnknownValue
	}
	return c, nil
}

// NewFuncHierarchy makes a hierarchy of height levels whose chains fn
// computes; fn must return height labels, the first the value itself and
// the last Top. Used for the built-in hierarchies.
func NewFuncHierarchy(height int, fn func(string) ([]string, error)) (*Hierarchy, error) {
	if height < 1 {
		return nil, fmt.Errorf("hierarchy height %d: want at least 1", height)
	}
	if fn == nil {
		return nil, errors.New("hierarchy function is nil")
	}
	return &Hierarchy{height: height, fn: fn}, nil
}

// SuppressionHierarchy is the two-level hierarchy value → Top, for a
// quasi-identifier that has no hierarchy of its own.
func SuppressionHierarchy() *Hierarchy {
	h, _ := NewFuncHierarchy(2, func(v string) ([]string, error) { return []string{v, Top}, nil })
	return h
}

// HierarchyError locates a problem in a hierarchy table.
type HierarchyError struct {
	Line int // 1-based, counting every line of the file
	Msg  string
}

func (e *HierarchyError) Error() string { return fmt.Sprintf("hierarchy line %d: %s", e.Line, e.Msg) }

// ParseHierarchy reads an ARX-style hierarchy: one line per leaf value,
// the leaf then its ever coarser generalisations, the last being Top.
func ParseHierarchy(r io.Reader, sep byte) (*Hierarchy, error) {
	cr, err := csvio.NewReader(r, sep)
	if err != nil {
		return nil, err
	}
	var rows [][]string
	var lines []int
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("hierarchy: %w", err)
		}
		row := make([]string, len(rec))
		for i, f := range rec {
			row[i] = string(f)
		}
		if len(rows) == 0 && len(row) > 0 {
			row[0] = trimBOM(row[0])
		}
		rows = append(rows, row)
		lines = append(lines, cr.Line())
	}
	return newHierarchy(rows, lines)
}

// NewHierarchy builds a table hierarchy from rows as ParseHierarchy reads
// them, with the same checks.
func NewHierarchy(rows [][]string) (*Hierarchy, error) {
	lines := make([]int, len(rows))
	for i := range lines {
		lines[i] = i + 1
	}
	return newHierarchy(rows, lines)
}

func newHierarchy(rows [][]string, lines []int) (*Hierarchy, error) {
	if len(rows) == 0 {
		return nil, &HierarchyError{Line: 1, Msg: "no lines"}
	}
	height := len(rows[0])
	h := &Hierarchy{height: height, chains: make(map[string][]string, len(rows)), leaves: make([]string, 0, len(rows))}
	// parents[L] maps a label at level L to its label at level L+1, with
	// the line that first said so, to check that generalisation is a
	// function level by level.
	type seen struct {
		label string
		line  int
	}
	parents := make([]map[string]seen, height)
	for L := range parents {
		parents[L] = make(map[string]seen)
	}
	firstLine := make(map[string]int, len(rows))
	for i, row := range rows {
		line := lines[i]
		switch {
		case len(row) != height:
			return nil, &HierarchyError{line, fmt.Sprintf("%d levels, but line %d has %d: every line needs the same number", len(row), lines[0], height)}
		case height < 2:
			return nil, &HierarchyError{line, fmt.Sprintf("only %d level: want the value and at least %q", height, Top)}
		case row[height-1] != Top:
			return nil, &HierarchyError{line, fmt.Sprintf("last level is %q, want %q", row[height-1], Top)}
		}
		if prev, dup := firstLine[row[0]]; dup {
			return nil, &HierarchyError{line, fmt.Sprintf("leaf %q already defined on line %d", row[0], prev)}
		}
		firstLine[row[0]] = line
		for L := 0; L+1 < height; L++ {
			p, ok := parents[L][row[L]]
			if !ok {
				parents[L][row[L]] = seen{row[L+1], line}
				continue
			}
			if p.label != row[L+1] {
				return nil, &HierarchyError{line, fmt.Sprintf("inconsistent: level %d label %q generalises to %q here but to %q on line %d", L, row[L], row[L+1], p.label, p.line)}
			}
		}
		h.chains[row[0]] = row
		h.leaves = append(h.leaves, row[0])
	}
	return h, nil
}

func trimBOM(s string) string {
	if len(s) >= 3 && s[:3] == "\xef\xbb\xbf" {
		return s[3:]
	}
	return s
}
