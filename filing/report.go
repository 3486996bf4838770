package filing

import (
	"context"
	"slices"
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

// CountOverdue counts what waits past its deadline at now, by state,
// over every unit: the records in the workflow and the requests on filed
// records. Every waiting state has its count, zero included.
func CountOverdue(ctx context.Context, s Store, now time.Time) (map[State]int, error) {
	counts := make(map[State]int, len(waiting))
	for _, st := range waiting {
		counts[st] = 0
	}
	err := ListOverdue(ctx, s, Query{}, now, func(q Queued) error {
		counts[q.State]++
		return nil
	})
	if err != nil {
		return nil, err
	}
	q := Query{States: []State{ChangeRequested, AwaitingConsent, RevocationReported}, Limit: MaxQueue}
	for {
		page, err := s.Requests(ctx, q)
		if err != nil {
			return nil, err
		}
		for _, r := range page {
			if late, _ := Overdue(Record{State: r.State, Since: r.Since}, now); late {
				counts[r.State]++
			}
		}
		if len(page) < q.Limit {
			return counts, nil
		}
		last := page[len(page)-1]
		q.After = &Item{Since: last.Since}
		q.After.CertificateNumber = last.ID
	}
}
