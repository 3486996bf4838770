package datasets

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"slices"

	"github.com/degreegate/degreegate/anonymizer"
	"github.com/degreegate/degreegate/anonymizer/parquet"
	"github.com/degreegate/degreegate/registry"
)

// maxTraceTokens bounds the candidate pseudonyms a trace checks: a few
// rows already name the dataset (a stranger's token is recognised with
// probability 2⁻⁴⁸), so a huge file need not cost a key check per row.
const maxTraceTokens = 20000

// TraceMatch is a dataset some of a file's pseudonyms belong to.
type TraceMatch struct {
	Dataset registry.Dataset
	// Recognised counts the distinct tokens that are this dataset's
	// pseudonyms.
	Recognised int
}

// TraceResult is what a trace found.
type TraceResult struct {
	// Candidates counts the distinct tokens shaped like a pseudonym.
	Candidates int
	Matches    []TraceMatch
}

// Trace reads a leaked file — a dataset's CSV or Parquet, an extract, a
// re-formatted copy — collects every token shaped like a pseudonym and
// checks it against the key of every dataset ever built (purged ones
// too: their sealed keys stay). Matches come most recognised first.
func (s *Service) Trace(ctx context.Context, path, actor string) (*TraceResult, error) {
	tokens, err := TraceTokens(path)
	if err != nil {
		return nil, err
	}
	ds, err := s.cfg.Store.Datasets(ctx, registry.DatasetQuery{Statuses: []registry.DatasetStatus{registry.DatasetReady, registry.DatasetPurged}})
	if err != nil {
		return nil, err
	}
	res := &TraceResult{Candidates: len(tokens)}
	for _, d := range ds {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		key, err := s.datasetKey(d)
		if err != nil {
			return nil, err
		}
		p, err := anonymizer.NewPseudonyms(key)
		if err != nil {
			return nil, fmt.Errorf("dataset %s: %w", d.ID, err)
		}
		n := 0
		for _, t := range tokens {
			if p.Recognise(t) {
				n++
			}
		}
		if n > 0 {
			res.Matches = append(res.Matches, TraceMatch{Dataset: d, Recognised: n})
		}
	}
	slices.SortStableFunc(res.Matches, func(a, b TraceMatch) int { return b.Recognised - a.Recognised })
	ids := make([]string, 0, len(res.Matches))
	for _, m := range res.Matches {
		ids = append(ids, m.Dataset.ID)
	}
	detail := map[string]any{"candidates": res.Candidates, "matched_datasets": ids}
	if err := s.audit(ctx, actor, "dataset.trace", registry.Dataset{ID: "trace"}, detail); err != nil {
		return res, fmt.Errorf("trace done but not audited: %w", err)
	}
	return res, nil
}

// TraceTokens returns the distinct pseudonym-shaped tokens of a file: the
// cells of a Parquet file, or runs of 26 base32 characters anywhere in
// any other file (case ignored), at most maxTraceTokens of them.
func TraceTokens(path string) ([][anonymizer.PseudonymSize]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	seen := map[[anonymizer.PseudonymSize]byte]bool{}
	var out [][anonymizer.PseudonymSize]byte
	add := func(tok []byte) bool {
		b, ok := anonymizer.DecodePseudonym(string(bytes.ToLower(tok)))
		if ok && !seen[b] {
			seen[b] = true
			out = append(out, b)
		}
		return len(out) < maxTraceTokens
	}
	var magic [4]byte
	if _, err := io.ReadFull(f, magic[:]); err == nil && string(magic[:]) == "PAR1" {
		st, err := f.Stat()
		if err != nil {
			return nil, err
		}
		errEnough := fmt.Errorf("enough tokens")
		err = parquet.Read(f, st.Size(), func(_, row []string) error {
			for _, v := range row {
				if !scanTokens([]byte(v), add) {
					return errEnough
				}
			}
			return nil
		})
		if err != nil && err != errEnough {
			return nil, err
		}
		return out, nil
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 1<<16), 1<<24)
	for sc.Scan() {
		if !scanTokens(sc.Bytes(), add) {
			break
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return out, nil
}

// scanTokens hands every maximal run of ASCII letters and digits that is
// PseudonymLen long to add, until add returns false.
func scanTokens(b []byte, add func([]byte) bool) bool {
	start := -1
	for i := 0; i <= len(b); i++ {
		alnum := i < len(b) && (b[i] >= 'a' && b[i] <= 'z' || b[i] >= 'A' && b[i] <= 'Z' || b[i] >= '0' && b[i] <= '9')
		switch {
		case alnum && start < 0:
			start = i
		case !alnum && start >= 0:
			if i-start == anonymizer.PseudonymLen && !add(b[start:i]) {
				return false
			}
			start = -1
		}
	}
	return true
}
