package inmem

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/degreegate/degreegate/registry"
)

var _ registry.DatasetStore = (*Datasets)(nil)

// Datasets is an in-memory registry.DatasetStore, for dev and tests. It
// stands beside Store rather than inside it: dataset requests share
// nothing with records but the audit trail.
type Datasets struct {
	mu   sync.RWMutex
	byID map[string]*registry.Dataset
}

// NewDatasets returns an empty dataset store.
func NewDatasets() *Datasets {
	return &Datasets{byID: make(map[string]*registry.Dataset)}
}

// PutDataset stores a copy of a new request.
func (s *Datasets) PutDataset(ctx context.Context, d registry.Dataset) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("inmem: put dataset: %w", err)
	}
	if err := d.Validate(); err != nil {
		return fmt.Errorf("inmem: put dataset: %w", err)
	}
	d = cloneDataset(d)
	d.RequestedAt = dbTime(d.RequestedAt)
	d.DatasetState = stateAsStored(d.DatasetState)
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dup := s.byID[d.ID]; dup {
		return fmt.Errorf("inmem: put dataset: %w", registry.ErrDuplicate)
	}
	s.byID[d.ID] = &d
	return nil
}

// Dataset returns a copy of one dataset.
func (s *Datasets) Dataset(ctx context.Context, id string) (registry.Dataset, error) {
	if err := ctx.Err(); err != nil {
		return registry.Dataset{}, fmt.Errorf("inmem: dataset: %w", err)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	d, ok := s.byID[id]
	if !ok {
		return registry.Dataset{}, errNotFound("dataset")
	}
	return cloneDataset(*d), nil
}

// Datasets returns copies of the selected datasets, newest first.
func (s *Datasets) Datasets(ctx context.Context, q registry.DatasetQuery) ([]registry.Dataset, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("inmem: datasets: %w", err)
	}
	s.mu.RLock()
	var out []registry.Dataset
	for _, d := range s.byID {
		if q.Contractor != "" && d.Contractor != q.Contractor {
			continue
		}
		if len(q.Statuses) > 0 && !slices.Contains(q.Statuses, d.Status) {
			continue
		}
		out = append(out, cloneDataset(*d))
	}
	s.mu.RUnlock()
	slices.SortFunc(out, func(a, b registry.Dataset) int {
		if c := b.RequestedAt.Compare(a.RequestedAt); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	return out, nil
}

// UpdateDataset moves a dataset along its lifecycle under the write lock,
// so that of two concurrent moves from one status, one wins.
func (s *Datasets) UpdateDataset(ctx context.Context, id string, from registry.DatasetStatus, next registry.DatasetState) (registry.Dataset, error) {
	if err := ctx.Err(); err != nil {
		return registry.Dataset{}, fmt.Errorf("inmem: update dataset: %w", err)
	}
	next = stateAsStored(next)
	next.Manifest = slices.Clone(next.Manifest)
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.byID[id]
	if !ok {
		return registry.Dataset{}, errNotFound("update dataset")
	}
	if d.Status != from {
		return cloneDataset(*d), fmt.Errorf("inmem: update dataset: %w", registry.ErrDatasetTransition)
	}
	if err := registry.CheckTransition(*d, next); err != nil {
		return cloneDataset(*d), fmt.Errorf("inmem: update dataset: %w", err)
	}
	d.DatasetState = next
	return cloneDataset(*d), nil
}

// stateAsStored cuts the state's times as PostgreSQL would.
func stateAsStored(st registry.DatasetState) registry.DatasetState {
	st.DecidedAt = dbTime(st.DecidedAt)
	st.BuiltAt = dbTime(st.BuiltAt)
	st.ExpiresAt = dbTime(st.ExpiresAt)
	st.PurgedAt = dbTime(st.PurgedAt)
	return st
}

func cloneDataset(d registry.Dataset) registry.Dataset {
	d.SealedKey = slices.Clone(d.SealedKey)
	d.Manifest = slices.Clone(d.Manifest)
	d.Spec.Fields = slices.Clone(d.Spec.Fields)
	d.Spec.Levels = slices.Clone(d.Spec.Levels)
	d.Spec.Regions = slices.Clone(d.Spec.Regions)
	return d
}
