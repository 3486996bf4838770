package inmem

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/degreegate/degreegate/filing"
	"github.com/degreegate/degreegate/registry"
)

var _ filing.Store = (*Store)(nil)

// workflow holds the filing workflow's batches and records, under mu.
type workflow struct {
	batches  map[string]*batchEntry
	live     map[string]string // certificate number → batch of its live record
	uploads  map[string]*stagedEntry
	requests map[string]*requestEntry
}

type batchEntry struct {
	batch    filing.Batch
	document []byte
	items    map[string]*filing.Item // by certificate number
}

func (w *workflow) init() {
	if w.batches == nil {
		w.batches, w.live, w.uploads = map[string]*batchEntry{}, map[string]string{}, map[string]*stagedEntry{}
		w.requests = map[string]*requestEntry{}
	}
}

// AddBatch stores a batch and its drafts, with their entries.
func (s *Store) AddBatch(ctx context.Context, b filing.Batch, document []byte, records []registry.Sealed, entries []registry.AuditEntry) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("inmem: add batch: %w", err)
	}
	if err := registry.CheckStorable(entries); err != nil {
		return fmt.Errorf("inmem: add batch: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.flow.init()
	if _, dup := s.flow.batches[b.ID]; dup {
		return fmt.Errorf("inmem: add batch: the batch id is taken")
	}
	var live []string
	seen := make(map[string]bool, len(records))
	for i := range records {
		n := records[i].CertificateNumber
		_, inFlow := s.flow.live[n]
		_, filed := s.byCert[n]
		if inFlow || filed || seen[n] {
			live = append(live, n)
		}
		seen[n] = true
	}
	if len(live) > 0 {
		slices.Sort(live)
		return fmt.Errorf("inmem: add batch: %w", &filing.InWorkflowError{Numbers: slices.Compact(live)})
	}
	if err := s.fileEntries(entries); err != nil {
		return fmt.Errorf("inmem: add batch: %w", err)
	}
	b.Created = dbTime(b.Created)
	e := &batchEntry{batch: b, document: slices.Clone(document), items: make(map[string]*filing.Item, len(records))}
	for i := range records {
		n := records[i].CertificateNumber
		e.items[n] = &filing.Item{Sealed: cloneSealed(records[i]), BatchID: b.ID, State: filing.Draft,
			Since: b.Created, Actor: b.Collector}
		s.flow.live[n] = b.ID
	}
	s.flow.batches[b.ID] = e
	return nil
}

func cloneSealed(x registry.Sealed) registry.Sealed {
	x.Secret, x.PersonIndex, x.Digest = slices.Clone(x.Secret), slices.Clone(x.PersonIndex), slices.Clone(x.Digest)
	x.ThesisKeywords = slices.Clone(x.ThesisKeywords)
	return x
}

func cloneItem(it *filing.Item) filing.Item {
	out := *it
	out.Sealed = cloneSealed(it.Sealed)
	return out
}

// Batch returns a batch.
func (s *Store) Batch(ctx context.Context, id string) (filing.Batch, error) {
	if err := ctx.Err(); err != nil {
		return filing.Batch{}, fmt.Errorf("inmem: batch: %w", err)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	e, ok := s.flow.batches[id]
	if !ok {
		return filing.Batch{}, filing.ErrNotFound
	}
	return e.batch, nil
}

// Document returns a batch's resolution document.
func (s *Store) Document(ctx context.Context, batchID string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("inmem: document: %w", err)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	e, ok := s.flow.batches[batchID]
	if !ok {
		return nil, filing.ErrNotFound
	}
	return slices.Clone(e.document), nil
}

// Items returns a batch's records by certificate number.
func (s *Store) Items(ctx context.Context, batchID string) ([]filing.Item, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("inmem: items: %w", err)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	e, ok := s.flow.batches[batchID]
	if !ok {
		return nil, filing.ErrNotFound
	}
	out := make([]filing.Item, 0, len(e.items))
	for _, it := range e.items {
		out = append(out, cloneItem(it))
	}
	slices.SortFunc(out, func(a, b filing.Item) int { return strings.Compare(a.CertificateNumber, b.CertificateNumber) })
	return out, nil
}

// Queue scans every record: dev's workflow is small.
func (s *Store) Queue(ctx context.Context, q filing.Query) ([]filing.Item, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("inmem: queue: %w", err)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []filing.Item
	for _, e := range s.flow.batches {
		if q.Province != "" && e.batch.Province != q.Province || q.Unit != "" && e.batch.Unit != q.Unit {
			continue
		}
		for _, it := range e.items {
			if len(q.States) > 0 && !slices.Contains(q.States, it.State) {
				continue
			}
			if q.After != nil && queueOrder(it, q.After) <= 0 {
				continue
			}
			out = append(out, cloneItem(it))
		}
	}
	slices.SortFunc(out, func(a, b filing.Item) int { return queueOrder(&a, &b) })
	return out[:min(len(out), max(q.Limit, 0))], nil
}

func queueOrder(a, b *filing.Item) int {
	return cmp.Or(a.Since.Compare(b.Since), strings.Compare(a.CertificateNumber, b.CertificateNumber))
}

// Move applies a transition, or nothing.
func (s *Store) Move(ctx context.Context, t filing.Transition) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("inmem: move: %w", err)
	}
	if len(t.Entries) != len(t.Moves) {
		return fmt.Errorf("inmem: move: %d moves, %d audit entries", len(t.Moves), len(t.Entries))
	}
	if err := registry.CheckStorable(t.Entries); err != nil {
		return fmt.Errorf("inmem: move: %w", err)
	}
	type filed struct {
		p packed
		n int32
	}
	var files []filed
	for _, m := range t.Moves {
		if m.File != nil {
			p, err := pack(&m.File.Sealed)
			if err != nil {
				return fmt.Errorf("inmem: move: %w", err)
			}
			files = append(files, filed{p, int32(m.File.Version)})
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	items := make([]*filing.Item, len(t.Moves))
	for i, m := range t.Moves {
		e, ok := s.flow.batches[m.BatchID]
		if !ok {
			return fmt.Errorf("inmem: move: %w", filing.ErrNotFound)
		}
		it, ok := e.items[m.CertificateNumber]
		if !ok {
			return fmt.Errorf("inmem: move: %w", filing.ErrNotFound)
		}
		if it.State != m.From {
			return fmt.Errorf("inmem: move: %w", filing.ErrStateChanged)
		}
		items[i] = it
	}
	for _, f := range files {
		_, exists := s.byCert[f.p.span(tCertificateNumber)]
		if f.n != 1 || exists {
			// Later versions arrive with changes to filed records.
			return fmt.Errorf("inmem: move: file version %d: %w", f.n, registry.ErrVersionConflict)
		}
	}
	if err := s.fileEntries(t.Entries); err != nil {
		return fmt.Errorf("inmem: move: %w", err)
	}
	at := dbTime(t.At)
	for i, m := range t.Moves {
		it := items[i]
		it.State, it.Since, it.Actor, it.Reason = m.To, at, t.Actor, t.Reason
		if m.Content != nil {
			it.Sealed = cloneSealed(*m.Content)
		}
		if m.To == filing.Withdrawn {
			delete(s.flow.live, m.CertificateNumber)
		}
	}
	fi := 0
	for _, m := range t.Moves {
		if m.File != nil {
			s.fileLocked(version{packed: files[fi].p, number: 1, change: s.addChangeLocked(m.File.Change.Stored())})
			fi++
		}
	}
	return nil
}

// SetLate moves a batch's late application on.
func (s *Store) SetLate(ctx context.Context, batchID string, from filing.LateState, late filing.Late, entry registry.AuditEntry) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("inmem: set late: %w", err)
	}
	entries := []registry.AuditEntry{entry}
	if err := registry.CheckStorable(entries); err != nil {
		return fmt.Errorf("inmem: set late: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.flow.batches[batchID]
	switch {
	case !ok:
		return filing.ErrNotFound
	case e.batch.Late.State != from:
		return fmt.Errorf("inmem: set late: %w", filing.ErrStateChanged)
	}
	if err := s.fileEntries(entries); err != nil {
		return fmt.Errorf("inmem: set late: %w", err)
	}
	late.AppliedAt = dbTime(late.AppliedAt)
	late.DecidedAt = dbTime(late.DecidedAt)
	e.batch.Late = late
	return nil
}

type stagedEntry struct {
	filing.Staged
	content []byte
}

// StageUpload starts a staged upload.
func (s *Store) StageUpload(ctx context.Context, u filing.Staged) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("inmem: stage upload: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.flow.init()
	if _, dup := s.flow.uploads[u.ID]; dup {
		return fmt.Errorf("inmem: stage upload: the id is taken")
	}
	u.Received, u.Created = 0, dbTime(u.Created)
	s.flow.uploads[u.ID] = &stagedEntry{Staged: u}
	return nil
}

// AppendStaged appends a part at offset.
func (s *Store) AppendStaged(ctx context.Context, id string, offset int64, part []byte) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("inmem: append upload: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.flow.uploads[id]
	switch {
	case !ok:
		return 0, filing.ErrNotFound
	case u.Received != offset || offset+int64(len(part)) > u.Size:
		return 0, filing.ErrOffset
	}
	u.content = append(u.content, part...)
	u.Received = int64(len(u.content))
	return u.Received, nil
}

// Staged returns a staged upload's state.
func (s *Store) Staged(ctx context.Context, id string) (filing.Staged, error) {
	if err := ctx.Err(); err != nil {
		return filing.Staged{}, fmt.Errorf("inmem: upload: %w", err)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	u, ok := s.flow.uploads[id]
	if !ok {
		return filing.Staged{}, filing.ErrNotFound
	}
	return u.Staged, nil
}

// StagedContent returns what a staged upload holds.
func (s *Store) StagedContent(ctx context.Context, id string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("inmem: upload: %w", err)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	u, ok := s.flow.uploads[id]
	if !ok {
		return nil, filing.ErrNotFound
	}
	return slices.Clone(u.content), nil
}

type requestEntry struct {
	filing.Request
	evidence []byte
}

// AddRequest stores a request with its entry.
func (s *Store) AddRequest(ctx context.Context, r filing.Request, evidence []byte, entry registry.AuditEntry) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("inmem: add request: %w", err)
	}
	entries := []registry.AuditEntry{entry}
	if err := registry.CheckStorable(entries); err != nil {
		return fmt.Errorf("inmem: add request: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.flow.init()
	if _, dup := s.flow.requests[r.ID]; dup {
		return fmt.Errorf("inmem: add request: the id is taken")
	}
	for _, o := range s.flow.requests {
		if o.CertificateNumber == r.CertificateNumber && o.Pending() {
			return fmt.Errorf("inmem: add request: %w", filing.ErrPendingRequest)
		}
	}
	if err := s.fileEntries(entries); err != nil {
		return fmt.Errorf("inmem: add request: %w", err)
	}
	r = cloneRequest(&r)
	r.RequestedAt, r.Since = dbTime(r.RequestedAt), dbTime(r.Since)
	s.flow.requests[r.ID] = &requestEntry{Request: r, evidence: slices.Clone(evidence)}
	return nil
}

func cloneRequest(r *filing.Request) filing.Request {
	out := *r
	out.Proposed, out.Changed = cloneSealed(r.Proposed), slices.Clone(r.Changed)
	return out
}

// Request returns a request.
func (s *Store) Request(ctx context.Context, id string) (filing.Request, error) {
	if err := ctx.Err(); err != nil {
		return filing.Request{}, fmt.Errorf("inmem: request: %w", err)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	r, ok := s.flow.requests[id]
	if !ok {
		return filing.Request{}, filing.ErrNotFound
	}
	return cloneRequest(&r.Request), nil
}

// Requests scans every request.
func (s *Store) Requests(ctx context.Context, q filing.Query) ([]filing.Request, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("inmem: requests: %w", err)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	order := func(a, b *filing.Request) int {
		return cmp.Or(a.Since.Compare(b.Since), strings.Compare(a.ID, b.ID))
	}
	var out []filing.Request
	for _, r := range s.flow.requests {
		switch {
		case q.Province != "" && r.Province != q.Province, q.Unit != "" && r.Unit != q.Unit,
			len(q.States) > 0 && !slices.Contains(q.States, r.State),
			q.After != nil && order(&r.Request, &filing.Request{Since: q.After.Since, ID: q.After.CertificateNumber}) <= 0:
			continue
		}
		out = append(out, cloneRequest(&r.Request))
	}
	slices.SortFunc(out, func(a, b filing.Request) int { return order(&a, &b) })
	return out[:min(len(out), max(q.Limit, 0))], nil
}

// DecideRequest moves a request on and files its version, or nothing.
func (s *Store) DecideRequest(ctx context.Context, r filing.Request, from filing.State, file *registry.Version, entries []registry.AuditEntry) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("inmem: decide request: %w", err)
	}
	if err := registry.CheckStorable(entries); err != nil {
		return fmt.Errorf("inmem: decide request: %w", err)
	}
	var p packed
	if file != nil {
		var err error
		if p, err = pack(&file.Sealed); err != nil {
			return fmt.Errorf("inmem: decide request: %w", err)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.flow.requests[r.ID]
	switch {
	case !ok:
		return filing.ErrNotFound
	case e.State != from || !e.Pending():
		return fmt.Errorf("inmem: decide request: %w", filing.ErrStateChanged)
	}
	slot := int32(-1)
	if file != nil {
		i, ok := s.byCert[file.CertificateNumber]
		if !ok || int(s.slot(i).cur.number) != file.Version-1 {
			return fmt.Errorf("inmem: decide request: %w", registry.ErrVersionConflict)
		}
		slot = i
	}
	if err := s.fileEntries(entries); err != nil {
		return fmt.Errorf("inmem: decide request: %w", err)
	}
	if slot >= 0 {
		s.appendLocked(slot, p, file.Change.Stored())
	}
	e.State, e.Since, e.Outcome = r.State, dbTime(r.Since), r.Outcome
	e.DecidedBy, e.DecidedAt, e.Decision = r.DecidedBy, dbTime(r.DecidedAt), r.Decision
	return nil
}

// PurgeStaged removes old staged uploads.
func (s *Store) PurgeStaged(ctx context.Context, before time.Time) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("inmem: purge staged uploads: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var n int64
	for id, u := range s.flow.uploads {
		if u.Created.Before(before) {
			delete(s.flow.uploads, id)
			n++
		}
	}
	return n, nil
}
