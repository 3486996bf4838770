package inmem

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"github.com/degreegate/degreegate/registry"
)

// Current returns the newest version of a certificate.
func (s *Store) Current(ctx context.Context, certificateNumber string) (registry.Version, error) {
	if err := ctx.Err(); err != nil {
		return registry.Version{}, fmt.Errorf("inmem: current: %w", err)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	i, ok := s.byCert[certificateNumber]
	if !ok {
		return registry.Version{}, errNotFound("current")
	}
	return s.export(&s.slot(i).cur), nil
}

// CurrentMany returns the newest version of each requested certificate
// that exists, once each however often it was asked for.
func (s *Store) CurrentMany(ctx context.Context, certificateNumbers []string) ([]registry.Version, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("inmem: current many: %w", err)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	found := make([]int32, 0, len(certificateNumbers))
	for _, cn := range certificateNumbers {
		if i, ok := s.byCert[cn]; ok {
			found = append(found, i)
		}
	}
	slices.Sort(found)
	found = slices.Compact(found)
	out := make([]registry.Version, len(found))
	for k, i := range found {
		out[k] = s.export(&s.slot(i).cur)
	}
	return out, nil
}

// ByPerson returns the newest version of every certificate whose newest
// version has this person index, ordered by certificate number.
func (s *Store) ByPerson(ctx context.Context, personIndex []byte) ([]registry.Version, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("inmem: by person: %w", err)
	}
	if len(personIndex) == 0 {
		return nil, nil
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	// Order the slots first, then copy each version once into its place:
	// a person has a handful of degrees, and fewer big copies mean less
	// garbage on a hot path.
	var buf [8]int32
	return s.exportByCertificate(s.appendPersonSlots(buf[:0], personIndex)), nil
}

// appendPersonSlots appends the slots on personIndex's list. Call with
// s.mu held.
func (s *Store) appendPersonSlots(slots []int32, personIndex []byte) []int32 {
	if head, ok := s.persons[string(personIndex)]; ok {
		for i := head; i != noSlot; i = s.slot(i).nextOfPerson {
			slots = append(slots, i)
		}
	}
	return slots
}

// exportByCertificate orders slots by certificate number and copies each
// current version once into its place. Call with s.mu held.
func (s *Store) exportByCertificate(slots []int32) []registry.Version {
	slices.SortFunc(slots, func(a, b int32) int {
		return cmp.Compare(s.slot(a).cur.span(tCertificateNumber), s.slot(b).cur.span(tCertificateNumber))
	})
	out := make([]registry.Version, len(slots))
	for k, i := range slots {
		out[k] = s.export(&s.slot(i).cur)
	}
	return out
}

// ByPersons returns the newest version of every certificate whose newest
// version has one of these person indexes, once each, ordered by
// certificate number.
func (s *Store) ByPersons(ctx context.Context, personIndexes [][]byte) ([]registry.Version, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("inmem: by persons: %w", err)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	slots := make([]int32, 0, len(personIndexes))
	for _, pi := range personIndexes {
		if len(pi) > 0 {
			slots = s.appendPersonSlots(slots, pi)
		}
	}
	// A slot is on one person's list only, so an index asked for twice
	// is the only source of repeats: sort, then drop them.
	slices.Sort(slots)
	return s.exportByCertificate(slices.Compact(slots)), nil
}

// History returns every version of a certificate, oldest first.
func (s *Store) History(ctx context.Context, certificateNumber string) ([]registry.Version, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("inmem: history: %w", err)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	i, ok := s.byCert[certificateNumber]
	if !ok {
		return nil, errNotFound("history")
	}
	c := s.slot(i)
	out := make([]registry.Version, 0, len(c.older)+1)
	for k := range c.older {
		out = append(out, s.export(&c.older[k]))
	}
	return append(out, s.export(&c.cur)), nil
}
