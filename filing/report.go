package filing

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"time"
)

// waiting are the states in which a record waits on someone under a
// deadline (Overdue).
var waiting = []State{Draft, Checked, Returned, Submitted, ChangeRequested, AwaitingConsent, DeletionRequested, RevocationReported}

// ListOverdue calls fn with every record q selects (by default, every
// state that waits under a deadline) that waits past its deadline at
// now, oldest in its state first, paging through s. It is the overdue
// list of Art. 12, 13 and 18 for a report or a reminder; it reads
// certificate numbers and states only.
func ListOverdue(ctx context.Context, s Store, q Query, now time.Time, fn func(Queued) error) error {
	if len(q.States) == 0 {
		q.States = waiting
	}
	q.Limit = MaxQueue
	batches := map[string]Batch{}
	for {
		page, err := s.Queue(ctx, q)
		if err != nil {
			return err
		}
		queued, err := withDeadlines(ctx, s, page, now, batches)
		if err != nil {
			return err
		}
		for _, it := range queued {
			if it.Overdue {
				if err := fn(it); err != nil {
					return err
				}
			}
		}
		if len(page) < q.Limit {
			return nil
		}
		last := page[len(page)-1]
		q.After = &last
	}
}

// withDeadlines adds to items their deadlines; only a submission's
// depends on its batch, which batches caches.
func withDeadlines(ctx context.Context, s Store, items []Item, now time.Time, batches map[string]Batch) ([]Queued, error) {
	out := make([]Queued, len(items))
	for i, it := range items {
		out[i].Item = it
		b := Batch{Unit: it.UnitCode}
		if waitsOnResolution(it.State) {
			var ok bool
			if b, ok = batches[it.BatchID]; !ok {
				var err error
				if b, err = s.Batch(ctx, it.BatchID); err != nil {
					return nil, err
				}
				batches[it.BatchID] = b
			}
		}
		out[i].Overdue, out[i].Due = Overdue(b.record(it), now)
	}
	return out, nil
}

// waitsOnResolution: records in these states are due 30 days after
// their batch's resolution took effect.
func waitsOnResolution(s State) bool { return s == Draft || s == Checked || s == Returned }

// Waiting are the states in which a record or a request waits under a
// deadline, in the order of the workflow.
func Waiting() []State { return slices.Clone(waiting) }

// OverdueCount is how many records (or requests) of one unit wait past
// their deadline in one state, and the oldest deadline among them.
type OverdueCount struct {
	Unit      string
	State     State
	Count     int
	OldestDue time.Time
	New       int // NewlyOverdue: how many became overdue since the last count
}

// SummariseOverdue counts what q selects (its province or unit) that
// waits past its deadline at now, by unit and state: the records in the
// workflow and the requests on filed records. Ordered by unit, then
// state in the workflow's order.
func SummariseOverdue(ctx context.Context, s Store, q Query, now time.Time) ([]OverdueCount, error) {
	type key struct {
		unit  string
		state State
	}
	counts := map[key]*OverdueCount{}
	add := func(unit string, st State, due time.Time) {
		k := key{unit, st}
		c, ok := counts[k]
		if !ok {
			c = &OverdueCount{Unit: unit, State: st, OldestDue: due}
			counts[k] = c
		}
		c.Count++
		if due.Before(c.OldestDue) {
			c.OldestDue = due
		}
	}
	rq := Query{Province: q.Province, Unit: q.Unit}
	err := ListOverdue(ctx, s, rq, now, func(it Queued) error {
		add(it.UnitCode, it.State, it.Due)
		return nil
	})
	if err != nil {
		return nil, err
	}
	rq.States, rq.Limit = []State{ChangeRequested, AwaitingConsent, DeletionRequested, RevocationReported}, MaxQueue
	for {
		page, err := s.Requests(ctx, rq)
		if err != nil {
			return nil, err
		}
		for _, r := range page {
			if late, due := Overdue(Record{State: r.State, Since: r.Since}, now); late {
				add(r.Unit, r.State, due)
			}
		}
		if len(page) < rq.Limit {
			break
		}
		last := page[len(page)-1]
		rq.After = &Item{Since: last.Since}
		rq.After.CertificateNumber = last.ID
	}
	out := make([]OverdueCount, 0, len(counts))
	for _, c := range counts {
		out = append(out, *c)
	}
	slices.SortFunc(out, func(a, b OverdueCount) int {
		return cmp.Or(strings.Compare(a.Unit, b.Unit), slices.Index(waiting, a.State)-slices.Index(waiting, b.State))
	})
	return out, nil
}

// CountOverdue counts what waits past its deadline at now over every
// unit, by state; every waiting state has its count, zero included.
func CountOverdue(ctx context.Context, s Store, now time.Time) (map[State]int, error) {
	sum, err := SummariseOverdue(ctx, s, Query{}, now)
	if err != nil {
		return nil, err
	}
	counts := make(map[State]int, len(waiting))
	for _, st := range waiting {
		counts[st] = 0
	}
	for _, c := range sum {
		counts[c.State] += c.Count
	}
	return counts, nil
}

// NewlyOverdue are the counts of cur that grew since prev (a unit and
// state absent from prev grew from nothing), with New the growth: what
// became overdue between two counts.
func NewlyOverdue(prev, cur []OverdueCount) []OverdueCount {
	type key struct {
		unit  string
		state State
	}
	before := make(map[key]int, len(prev))
	for _, p := range prev {
		before[key{p.Unit, p.State}] = p.Count
	}
	var out []OverdueCount
	for _, c := range cur {
		if n := c.Count - before[key{c.Unit, c.State}]; n > 0 {
			c.New = n
			out = append(out, c)
		}
	}
	return out
}
