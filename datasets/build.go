package datasets

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/degreegate/degreegate/anonymizer"
	"github.com/degreegate/degreegate/anonymizer/csvio"
	"github.com/degreegate/degreegate/anonymizer/parquet"
	"github.com/degreegate/degreegate/policies"
	"github.com/degreegate/degreegate/registry"
)

// The files of a built dataset, inside its own folder.
const (
	DataCSV      = "data.csv"
	DataParquet  = "data.parquet"
	ReportHTML   = "report.html"
	ManifestJSON = "manifest.json"
	// PersonColumn is the first column of every dataset: the person's
	// pseudonym, shared by one person's degrees within the dataset.
	PersonColumn = "person"
)

// ErrEmptySelection: the request's filters select no record.
var ErrEmptySelection = errors.New("the selection holds no records")

// errPlan marks a request that does not fit the policy (any more).
var errPlan = errors.New("the request does not fit the policy")

// BuildInput is one dataset to build.
type BuildInput struct {
	Dataset registry.Dataset
	// Key is the dataset's pseudonym key, opened (Dataset holds it only
	// sealed).
	Key []byte
	// Rules are the policy's dataset rules now; a field the policy no
	// longer allows stops the build.
	Rules   policies.DatasetRules
	Records registry.Store
	// Dir is the dataset's folder. It must not exist: the build writes a
	// temporary sibling and renames it into place only when every file is
	// written and synced, so an interrupted build leaves no Dir.
	Dir string
	Now func() time.Time
}

// Manifest is a dataset's manifest.json: what was asked, by whom
// and under which policy, what was achieved and at what cost, how to
// recognise the files, and when they expire.
type Manifest struct {
	Dataset       string         `json:"dataset"`
	Engine        string         `json:"engine"`
	Contractor    string         `json:"contractor"`
	Purpose       string         `json:"purpose"`
	LegalBasis    string         `json:"legal_basis"`
	PolicyVersion string         `json:"policy_version"`
	RequestedBy   string         `json:"requested_by"`
	ApprovedBy    string         `json:"approved_by"`
	Spec          ManifestSpec   `json:"spec"`
	Columns       []ColumnReport `json:"columns"`
	Created       time.Time      `json:"created"`
	Expires       time.Time      `json:"expires"`

	RowsIn         int64                  `json:"rows_in"`
	RowsOut        int64                  `json:"rows_out"`
	Suppressed     int64                  `json:"suppressed_rows"`
	People         int64                  `json:"people"`
	AchievedK      int64                  `json:"achieved_k"`
	AchievedL      float64                `json:"achieved_l,omitempty"`
	Classes        int                    `json:"classes"`
	ClassHistogram []anonymizer.Bucket    `json:"class_size_histogram"`
	Risk           anonymizer.Risk        `json:"risk"`
	Loss           anonymizer.Loss        `json:"information_loss"`
	Search         anonymizer.SearchStats `json:"search"`
	// ClassifiedBlanked counts records whose thesis fields were left
	// empty because the thesis is classified (Art. 25).
	ClassifiedBlanked int64                 `json:"classified_theses_blanked"`
	Files             []anonymizer.FileInfo `json:"files"`
	Fingerprint       string                `json:"fingerprint"`
	// CSVCells says how the CSV guards cells against spreadsheets.
	CSVCells string  `json:"csv_cells"`
	Seconds  float64 `json:"seconds"`
	// Phases splits Seconds: reading the selection, the search, and
	// writing the files.
	Phases map[string]float64 `json:"phase_seconds"`
}

// ManifestSpec is the request as the manifest records it.
type ManifestSpec struct {
	registry.DatasetSpec
	Term string `json:"term"`
}

// ColumnReport says what became of one column.
type ColumnReport struct {
	Name      string             `json:"name"`
	Role      policies.Role      `json:"role"`
	Hierarchy policies.Hierarchy `json:"hierarchy,omitempty"`
	// Levels names the hierarchy's levels, value first, Top last.
	Levels []string `json:"levels,omitempty"`
	// Level is the level global recoding chose (-1 for Mondrian, which
	// chooses per row: LevelRows counts released rows per level).
	Level     int     `json:"level"`
	LevelName string  `json:"level_name,omitempty"`
	LevelRows []int64 `json:"level_rows,omitempty"`
}

// column is one requested field during a build.
type column struct {
	name   string
	field  policies.DatasetField
	qi     int      // index among the quasi-identifiers, or -1
	levels []string // quasi-identifiers: level names
	never  bool     // blank when the thesis is classified (Art. 25)
	// Columns kept as they are: dictionary-encoded per row.
	dict  map[string]uint32
	vals  []string
	codes []uint32
}

// planColumns checks the requested fields against the rules and the
// fixed rules of the regulation, and prepares the engine's configuration.
func planColumns(d registry.Dataset, rules policies.DatasetRules) ([]*column, anonymizer.Config, error) {
	s := d.Spec
	cfg := anonymizer.Config{K: s.K, MaxSuppression: s.MaxSuppression, L: s.L, Diversity: anonymizer.DistinctL, Method: anonymizer.Method(s.Method), People: true}
	var cols []*column
	for _, name := range s.Fields {
		f, ok := rules.Field(name)
		if !ok {
			return nil, cfg, fmt.Errorf("field %q may not be in a dataset under policy %s", name, rulesVersion(d))
		}
		meta, known := policies.LookupField(name)
		if !known || meta.Class == policies.DirectIdentifier {
			// The policy should never allow it; the regulation never does (Art. 23).
			return nil, cfg, fmt.Errorf("field %q is a direct identifier and never leaves the registry", name)
		}
		c := &column{name: name, field: f, qi: -1, never: f.NeverIfClassified || meta.NeverIfClassified}
		if f.Role == policies.RoleQuasiIdentifier {
			h, levels, err := anonymizer.BuiltinHierarchy(f.Hierarchy)
			if err != nil {
				return nil, cfg, fmt.Errorf("field %q: %w", name, err)
			}
			c.qi, c.levels = len(cfg.QIs), levels
			cfg.QIs = append(cfg.QIs, anonymizer.QI{Name: name, Hierarchy: h})
		} else {
			c.dict = make(map[string]uint32)
		}
		cols = append(cols, c)
	}
	if len(cfg.QIs) == 0 {
		return nil, cfg, errors.New("no quasi-identifier requested: a dataset needs at least one generalisable field")
	}
	if s.Sensitive != "" && !slices.Contains(s.Fields, s.Sensitive) {
		return nil, cfg, fmt.Errorf("sensitive field %q is not among the fields", s.Sensitive)
	}
	return cols, cfg, nil
}

func rulesVersion(d registry.Dataset) string { return d.PolicyVersion }

// selectionFilter is the store filter of a dataset's spec.
func selectionFilter(s registry.DatasetSpec) (registry.Filter, error) {
	// Deleted records (Art. 18) are in no dataset.
	f := registry.Filter{ConferralYearFrom: s.ConferralYearFrom, ConferralYearTo: s.ConferralYearTo,
		Statuses: []registry.Status{registry.StatusFiled, registry.StatusRevoked}}
	for _, l := range s.Levels {
		f.Levels = append(f.Levels, registry.DegreeLevel(l))
	}
	units, err := anonymizer.ResolveRegions(s.Regions)
	if err != nil {
		return f, err
	}
	if len(s.Regions) > 0 && len(units) == 0 {
		return f, fmt.Errorf("%w: the regions hold no known degree-granting unit", ErrEmptySelection)
	}
	f.UnitCodes = units
	return f, nil
}

// BuildFiles streams the dataset's records from the store through the
// engine and writes data.csv, data.parquet, report.html and manifest.json
// into in.Dir. It fails, writing nothing, when the request cannot be met
// (ErrUnsatisfiable, ErrEmptySelection) or the context ends.
func BuildFiles(ctx context.Context, in BuildInput) (*Manifest, error) {
	start := time.Now()
	if in.Now == nil {
		in.Now = time.Now
	}
	sel, err := readSelection(ctx, in)
	if err != nil {
		return nil, err
	}
	scanned := time.Now()
	res, err := sel.eng.Solve(ctx)
	if err != nil {
		return nil, err
	}
	solved := time.Now()
	m := newManifest(in.Dataset, sel.cols, res, sel.blanked)
	order := releaseOrder(sel.persons, res, m.RowsOut)
	err = writeAtomicDir(in.Dir, func(tmp string) error {
		m.Created = in.Now().UTC()
		m.Expires = m.Created.Add(in.Dataset.Spec.Term)
		files, err := writeTables(ctx, tmp, sel.cols, res, sel.persons, order)
		if err != nil {
			return err
		}
		m.Files = files
		m.Seconds = time.Since(start).Seconds()
		m.Phases = map[string]float64{"read": scanned.Sub(start).Seconds(), "anonymise": solved.Sub(scanned).Seconds(),
			"write": time.Since(solved).Seconds()}
		return writeReportAndManifest(tmp, m)
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}

// selection is a dataset's records, read into the engine.
type selection struct {
	cols    []*column
	eng     *anonymizer.Engine
	persons [][anonymizer.PseudonymSize]byte // per row
	blanked int64                            // records whose thesis fields were blanked
}

// readSelection checks the request against the rules once more and reads
// the records it selects into a new engine.
func readSelection(ctx context.Context, in BuildInput) (*selection, error) {
	d := in.Dataset
	cols, cfg, err := planColumns(d, in.Rules)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errPlan, err)
	}
	filter, err := selectionFilter(d.Spec)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errPlan, err)
	}
	eng, err := anonymizer.New(cfg)
	if err != nil {
		return nil, err
	}
	pseudo, err := anonymizer.NewPseudonyms(in.Key)
	if err != nil {
		return nil, err
	}
	scan := in.Records.Scan
	if bulk, ok := in.Records.(registry.BulkScanner); ok {
		// Order does not matter (rows are sorted by pseudonym below), so
		// a store that streams faster unordered may.
		scan = bulk.ScanBulk
	}
	rd := &selectionReader{cols: cols, cfg: cfg, sensitive: d.Spec.Sensitive, pseudo: pseudo, eng: eng}
	if err := rd.read(ctx, scan, filter); err != nil {
		return nil, fmt.Errorf("read the selection: %w", err)
	}
	if len(rd.persons) == 0 {
		return nil, ErrEmptySelection
	}
	return &selection{cols: cols, eng: eng, persons: rd.persons, blanked: rd.blanked}, nil
}

// newManifest describes the dataset d as res anonymised it; the files,
// dates and timings are filled in as they are written.
func newManifest(d registry.Dataset, cols []*column, res *anonymizer.Result, blanked int64) *Manifest {
	m := &Manifest{
		Dataset: d.ID, Engine: anonymizer.Version, Contractor: d.Contractor, Purpose: d.Purpose, LegalBasis: d.LegalBasis,
		PolicyVersion: d.PolicyVersion, RequestedBy: d.RequestedBy, ApprovedBy: d.DecidedBy,
		Spec:   ManifestSpec{DatasetSpec: d.Spec, Term: d.Spec.Term.String()},
		RowsIn: res.Rows, Suppressed: res.Suppressed, RowsOut: res.Rows - res.Suppressed, People: res.People,
		AchievedK: res.AchievedK, AchievedL: res.AchievedL, Classes: res.Classes, ClassHistogram: res.ClassHistogram,
		Risk: res.Risk, Loss: res.Loss, Search: res.Search, ClassifiedBlanked: blanked,
		Fingerprint: "the person pseudonyms carry a keyed tag of this dataset; `degreegate dataset trace FILE` recognises them in any part of a file",
		CSVCells: "in " + DataCSV + " a cell that a spreadsheet would run as a formula (one starting with =, +, -, @, tab or CR, " +
			"unless it is a plain number) or that starts with ' has one more ' in front; " + DataParquet + " holds the values unchanged",
	}
	if m.Spec.Method == "" {
		m.Spec.Method = string(anonymizer.Global)
	}
	m.Columns = append(m.Columns, ColumnReport{Name: PersonColumn, Role: "pseudonym", Level: 0})
	for _, c := range cols {
		cr := ColumnReport{Name: c.name, Role: c.field.Role, Level: 0}
		if c.qi >= 0 {
			cr.Hierarchy, cr.Levels = c.field.Hierarchy, c.levels
			if res.Levels != nil {
				cr.Level = res.Levels[c.qi]
				cr.LevelName = c.levels[cr.Level]
			} else {
				cr.Level = -1
				for _, n := range res.LevelUsed[c.qi] {
					cr.LevelRows = append(cr.LevelRows, int64(n))
				}
			}
		}
		m.Columns = append(m.Columns, cr)
	}
	return m
}

// releaseOrder returns the released rows ordered by pseudonym, which
// hides the store's order (certificate numbers follow unit and year) and
// keeps one person's degrees together.
func releaseOrder(persons [][anonymizer.PseudonymSize]byte, res *anonymizer.Result, released int64) []int32 {
	order := make([]int32, 0, released)
	for i := range persons {
		if res.Class(i) >= 0 {
			order = append(order, int32(i))
		}
	}
	slices.SortFunc(order, func(a, b int32) int {
		if c := bytes.Compare(persons[a][:], persons[b][:]); c != 0 {
			return c
		}
		return int(a - b)
	})
	return order
}

// writeReportAndManifest writes report.html and then manifest.json,
// which lists the report with the tables, into dir.
func writeReportAndManifest(dir string, m *Manifest) error {
	var report bytes.Buffer
	if err := WriteReport(&report, m); err != nil {
		return err
	}
	fi, err := writeSynced(filepath.Join(dir, ReportHTML), func(w io.Writer) error { _, err := w.Write(report.Bytes()); return err })
	if err != nil {
		return err
	}
	m.Files = append(m.Files, fi)
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	_, err = writeSynced(filepath.Join(dir, ManifestJSON), func(w io.Writer) error { _, err := w.Write(append(b, '\n')); return err })
	return err
}

// writeTables writes the CSV and the Parquet file of the released rows,
// side by side: each is a pass over the same rows in memory.
func writeTables(ctx context.Context, dir string, cols []*column, res *anonymizer.Result, persons [][anonymizer.PseudonymSize]byte, order []int32) ([]anonymizer.FileInfo, error) {
	header := []string{PersonColumn}
	for _, c := range cols {
		header = append(header, c.name)
	}
	each := func(put func(row []string) error) error {
		f := rowFiller{cols: cols, res: res, persons: persons, row: make([]string, len(header)), last: -1}
		for n, i := range order {
			if n%65536 == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			if err := put(f.fill(i)); err != nil {
				return err
			}
		}
		return nil
	}
	var (
		wg              sync.WaitGroup
		csvInfo, pqInfo anonymizer.FileInfo
		csvErr, pqErr   error
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		csvInfo, csvErr = writeSynced(filepath.Join(dir, DataCSV), func(w io.Writer) error {
			cw := csv.NewWriter(w)
			// Cells a spreadsheet would run as formulas are guarded (see
			// csvio.GuardFormula); the Parquet file keeps values as they are.
			guarded := make([]string, len(header))
			write := func(row []string) error {
				for i, v := range row {
					guarded[i] = csvio.GuardFormula(v)
				}
				return cw.Write(guarded)
			}
			if err := write(header); err != nil {
				return err
			}
			if err := each(write); err != nil {
				return err
			}
			cw.Flush()
			return cw.Error()
		})
	}()
	pqInfo, pqErr = writeSynced(filepath.Join(dir, DataParquet), func(w io.Writer) error {
		pw, err := parquet.NewWriter(w, header, map[string]string{"degreegate.engine": anonymizer.Version})
		if err != nil {
			return err
		}
		if err := each(pw.Write); err != nil {
			return err
		}
		return pw.Close()
	})
	wg.Wait()
	if csvErr != nil {
		return nil, fmt.Errorf("write %s: %w", DataCSV, csvErr)
	}
	if pqErr != nil {
		return nil, fmt.Errorf("write %s: %w", DataParquet, pqErr)
	}
	csvInfo.Rows, pqInfo.Rows = int64(len(order)), int64(len(order))
	return []anonymizer.FileInfo{csvInfo, pqInfo}, nil
}

// rowFiller lays out one released row for the writers.
type rowFiller struct {
	cols    []*column
	res     *anonymizer.Result
	persons [][anonymizer.PseudonymSize]byte
	row     []string
	last    int32
	lastTxt string
}

func (f *rowFiller) fill(i int32) []string {
	// One person's rows are adjacent: encode the pseudonym once.
	if f.last < 0 || f.persons[i] != f.persons[f.last] {
		f.lastTxt = anonymizer.EncodePseudonym(f.persons[i])
	}
	f.last = i
	f.row[0] = f.lastTxt
	values, _ := f.res.Row(int(i))
	for k, c := range f.cols {
		if c.qi >= 0 {
			f.row[k+1] = values[c.qi]
		} else {
			f.row[k+1] = c.vals[c.codes[i]]
		}
	}
	return f.row
}

// writeSynced creates path, lets write fill it through a buffer, and
// syncs it to disk; it returns the file's name, size and SHA-256.
func writeSynced(path string, write func(io.Writer) error) (anonymizer.FileInfo, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return anonymizer.FileInfo{}, err
	}
	sum := anonymizer.NewFileSum(f)
	bw := bufio.NewWriterSize(sum, 1<<16)
	err = write(bw)
	if err == nil {
		err = bw.Flush()
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return anonymizer.FileInfo{}, err
	}
	return anonymizer.FileInfo{Path: filepath.Base(path), Bytes: sum.Bytes(), SHA256: sum.SHA256()}, nil
}

// TempPrefix starts the name of a folder a build is writing; nothing
// with it is ever offered, and a purge removes stale ones.
const TempPrefix = ".build-"

// writeAtomicDir has fill write a temporary folder beside dir, syncs it
// and renames it to dir: readers see the whole folder or none.
func writeAtomicDir(dir string, fill func(tmp string) error) error {
	parent := filepath.Dir(dir)
	if err := os.MkdirAll(parent, 0o700); err != nil {
		return err
	}
	if _, err := os.Lstat(dir); err == nil {
		return fmt.Errorf("%s already exists", filepath.Base(dir))
	}
	var rnd [6]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return err
	}
	tmp := filepath.Join(parent, TempPrefix+filepath.Base(dir)+"-"+hex.EncodeToString(rnd[:]))
	if err := os.Mkdir(tmp, 0o700); err != nil {
		return err
	}
	ok := false
	defer func() {
		if !ok {
			os.RemoveAll(tmp)
		}
	}()
	if err := fill(tmp); err != nil {
		return err
	}
	if err := syncDir(tmp); err != nil {
		return err
	}
	if err := os.Rename(tmp, dir); err != nil {
		return err
	}
	ok = true
	return syncDir(parent)
}

func syncDir(path string) error {
	d, err := os.Open(path)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
