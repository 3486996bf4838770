package anonymizer

import (
	"errors"
	"fmt"
	"hash/maphash"
)

// Method chooses how the table is generalised.
type Method string

const (
	// Global is full-domain global recoding: one level per column.
	Global Method = "global"
	// Mondrian is top-down multidimensional partitioning along the
	// hierarchies (local recoding), without suppression.
	Mondrian Method = "mondrian"
)

// Diversity names the l-diversity variant.
type Diversity string

const (
	// DistinctL: every class holds at least l distinct sensitive values.
	DistinctL Diversity = "distinct"
	// EntropyL: the entropy of every class's sensitive values is at
	// least log(l).
	EntropyL Diversity = "entropy"
)

// QI is one quasi-identifier column and its hierarchy (nil: the column
// can only be kept or generalised to Top).
type QI struct {
	Name      string
	Hierarchy *Hierarchy
}

// Config is what to achieve.
type Config struct {
	QIs []QI
	// K: every released class holds at least K people (rows, unless
	// People is set).
	K int
	// MaxSuppression is the largest share of rows (0 … 1) that may be
	// suppressed to reach K (and L).
	MaxSuppression float64
	// L > 0 asks for l-diversity of the sensitive value given to Add.
	L         int
	Diversity Diversity // DistinctL when empty
	Method    Method    // Global when empty
	// People makes classes count distinct persons, as identified by the
	// person argument of Add, instead of rows: a person with several rows
	// in one class counts once.
	People bool
}

func (c *Config) validate() error {
	var errs []error
	if len(c.QIs) == 0 {
		errs = append(errs, errors.New("no quasi-identifiers"))
	}
	names := map[string]bool{}
	for _, q := range c.QIs {
		if names[q.Name] {
			errs = append(errs, fmt.Errorf("quasi-identifier %q named twice", q.Name))
		}
		names[q.Name] = true
	}
	if c.K < 1 {
		errs = append(errs, fmt.Errorf("k = %d: want at least 1", c.K))
	}
	if !(c.MaxSuppression >= 0 && c.MaxSuppression <= 1) {
		errs = append(errs, fmt.Errorf("max suppression %v: want a share between 0 and 1", c.MaxSuppression))
	}
	if c.L < 0 {
		errs = append(errs, fmt.Errorf("l = %d: want 0 (off) or more", c.L))
	}
	switch c.Diversity {
	case "":
		c.Diversity = DistinctL
	case DistinctL, EntropyL:
	default:
		errs = append(errs, fmt.Errorf("diversity %q: want %q or %q", c.Diversity, DistinctL, EntropyL))
	}
	switch c.Method {
	case "":
		c.Method = Global
	case Global, Mondrian:
	default:
		errs = append(errs, fmt.Errorf("method %q: want %q or %q", c.Method, Global, Mondrian))
	}
	return errors.Join(errs...)
}

// ValueError is a row whose value a table hierarchy does not know, or that
// a hierarchy function rejected. It names the column, never the value.
type ValueError struct {
	Row    int // 0-based, in the order of Add
	Column string
	Err    error
}

func (e *ValueError) Error() string {
	return fmt.Sprintf("row %d, column %q: %v", e.Row+1, e.Column, e.Err)
}
func (e *ValueError) Unwrap() error { return e.Err }

// Engine collects rows and anonymises them. It is not safe for
// concurrent use.
type Engine struct {
	cfg   Config
	cols  []*column
	codes [][]uint32 // per quasi-identifier, per row: leaf codes

	sensDict  map[string]uint32
	sensCodes []uint32 // per row, when cfg.L > 0

	seed      maphash.Seed
	personIDs *table  // person hash → dense person number
	personOf  []int32 // per row, when cfg.People
	rows      int
	solved    bool
}

// New returns an engine for cfg.
func New(cfg Config) (*Engine, error) {
	cfg.QIs = append([]QI(nil), cfg.QIs...)
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("anonymizer: %w", err)
	}
	e := &Engine{cfg: cfg, seed: maphash.MakeSeed()}
	for _, q := range cfg.QIs {
		c, err := newColumn(q.Name, q.Hierarchy)
		if err != nil {
			return nil, fmt.Errorf("anonymizer: hierarchy of %q: %w", q.Name, err)
		}
		e.cols = append(e.cols, c)
	}
	e.codes = make([][]uint32, len(cfg.QIs))
	if cfg.L > 0 {
		e.sensDict = make(map[string]uint32)
	}
	if cfg.People {
		e.personIDs = newTable(1 << 10)
	}
	return e, nil
}

// Add appends a row: its quasi-identifier values in the order of
// Config.QIs, its sensitive value (ignored unless L > 0) and its person
// identifier (ignored unless People).
func (e *Engine) Add(qi []string, sensitive, person string) error {
	return addRow(e, qi, sensitive, person)
}

// AddBytes is Add for byte slices, which it does not retain; a reader that
// reuses its buffer avoids a string per cell this way.
func (e *Engine) AddBytes(qi [][]byte, sensitive, person []byte) error {
	return addRow(e, qi, sensitive, person)
}

// Rows returns the number of rows added.
func (e *Engine) Rows() int { return e.rows }

func addRow[T string | []byte](e *Engine, qi []T, sensitive, person T) error {
	if e.solved {
		return errors.New("anonymizer: Add after Solve")
	}
	if len(qi) != len(e.cols) {
		return fmt.Errorf("anonymizer: row %d has %d quasi-identifier values, want %d", e.rows+1, len(qi), len(e.cols))
	}
	if e.rows == maxRows {
		return fmt.Errorf("anonymizer: more than %d rows", maxRows)
	}
	for i, c := range e.cols {
		code, ok := c.dict[string(qi[i])]
		if !ok {
			var err error
			if code, err = c.code(string(qi[i])); err != nil {
				// Undo the codes of this row's earlier columns.
				for j := range i {
					e.codes[j] = e.codes[j][:e.rows]
				}
				return &ValueError{Row: e.rows, Column: c.name, Err: err}
			}
		}
		e.codes[i] = append(e.codes[i], code)
	}
	if e.cfg.L > 0 {
		code, ok := e.sensDict[string(sensitive)]
		if !ok {
			code = uint32(len(e.sensDict))
			e.sensDict[string(sensitive)] = code
		}
		e.sensCodes = append(e.sensCodes, code)
	}
	if e.cfg.People {
		var h uint64
		switch p := any(person).(type) {
		case string:
			h = maphash.String(e.seed, p)
		case []byte:
			h = maphash.Bytes(e.seed, p)
		}
		// Two persons whose 64-bit hashes collide would count as one,
		// which makes classes look smaller, never larger: safe.
		id := e.personIDs.insert(h, int32(e.personIDs.len()))
		e.personOf = append(e.personOf, id)
	}
	e.rows++
	return nil
}

// maxRows keeps row and tuple numbers inside int32.
const maxRows = 1<<31 - 1
