// Package synth generates deterministic, realistic synthetic
// degree-conferral records for development, demos, tests and load tests.
//
// Record(i) is a pure function of the seed and i, so generation can be
// split across goroutines, resumed or sampled at random, and the same
// seed always yields the same data set. Every record passes
// registry.Validate.
//
// What is real and what is made up:
//   - Units are real degree-granting universities with their Ministry of
//     Education 5-digit codes and provinces (data/units.csv). Their
//     presidents and degree-committee chairs are invented.
//   - Postgraduate disciplines are real codes of the 学位授予和人才培养学科目录
//     (data/disciplines.csv), professional degrees real category codes
//     (data/professional.csv), bachelor majors real codes of the
//     普通高等学校本科专业目录 (data/majors.csv). Codes are used only in the
//     years they existed, each file naming the stand-in for other years.
//     Bachelor majors are written in the 2012 catalogue's codes for every
//     year (as a registry normalising to the current catalogue would);
//     arts majors (category 13, which the 2011 catalogue created) appear
//     from 2012 on, and earlier draws of them become another major of the
//     same unit rather than a guessed 1998-catalogue code.
//   - Resident ID numbers are well-formed (real address codes, the
//     holder's birth date, sequence parity by gender, valid GB 11643 check
//     character) but random, as are the mainland mobile numbers (China has
//     no reserved fictional range): any match with a real person's number
//     is chance. E-mail addresses use the reserved example.* domains.
//   - Everything else (names, dates, numbers, thesis titles) is drawn
//     from plausible distributions, not from statistics. Shares: about 80 %
//     bachelor, 17 % master, 3 % doctor degrees; 3 % of postgraduate
//     degrees by equivalent level; 0.3 % revoked; about 11 % of masters
//     and a third of doctors have their earlier degree in the set too.
//
// Certificate numbers are unique among records 0…MaxUnique−1 (see
// core.go for how, without shared state). Records never carry a date
// after 2025, so output does not depend on the clock.
package synth

import (
	"context"
	"fmt"
	"runtime"
	"sync"

	"github.com/degreegate/degreegate/registry"
)

// sharedTables parses the embedded tables once per process; the result is
// never written, so all generators share it.
var sharedTables = sync.OnceValues(loadTables)

// Generator makes synthetic records for one seed. It is immutable after
// New and safe for concurrent use.
type Generator struct {
	seed          uint64
	t             *tables
	names         nameTables
	paths         weighted
	years         weighted
	provinces     weighted
	topicScience  weighted
	topicSocial   weighted
	provinceIndex [66]int // two-digit province code → index into provinces, -1 if none
	certKeys      [4]uint64
}

// New returns a generator for seed. Record(i) is a pure function of
// (seed, i): the same seed and index always give the same record, so
// generation can be split across goroutines and still be deterministic.
func New(seed int64) *Generator {
	t, err := sharedTables()
	if err != nil {
		// The tables are embedded in the binary; TestTables keeps them
		// loadable, so this is a build defect, not a run-time condition.
		panic(fmt.Sprintf("synth: embedded tables: %v", err))
	}
	g := &Generator{seed: uint64(seed), t: t, names: newNameTables()}
	pw := make([]uint32, len(pathTypes))
	for i, p := range pathTypes {
		pw[i] = p.w
	}
	g.paths = newWeighted(pw)
	g.years = newWeighted(yearWeights())
	prw := make([]uint32, len(provinces))
	for i := range g.provinceIndex {
		g.provinceIndex[i] = -1
	}
	for i, p := range provinces {
		prw[i] = p.w
		g.provinceIndex[int(p.code[0]-'0')*10+int(p.code[1]-'0')] = i
	}
	g.provinces = newWeighted(prw)
	g.topicScience = newWeighted(topicWeightsScience)
	g.topicSocial = newWeighted(topicWeightsSocial)
	for k := range g.certKeys {
		g.certKeys[k] = key(g.seed, tagCert, uint64(k))
	}
	return g
}

// Record returns record i (i ≥ 0). Certificate numbers of records
// 0…MaxUnique−1 are distinct.
func (g *Generator) Record(i int) registry.Record {
	idx := uint64(i)
	pl := g.place(idx)
	var cores [3]core
	for k := 0; k < pl.path.n; k++ {
		cores[k] = g.core(pl.index(k), pl.path.levels[k], pl.path.equivalent)
	}
	p := g.person(&pl, &cores)
	return g.assemble(idx, &pl, &p, &cores[pl.degree])
}

// chunkSize is how many records a worker makes at a time: large enough
// to amortise the hand-over, small enough to keep memory flat.
const chunkSize = 512

// Generate calls fn for records 0..n-1 in index order, using up to
// workers goroutines internally (workers <= 0: GOMAXPROCS); fn is called
// from one goroutine, the caller's. It stops at fn's first error or when
// ctx is done, and returns that error.
func (g *Generator) Generate(ctx context.Context, n int, workers int, fn func(i int, r registry.Record) error) error {
	if n <= 0 {
		return ctx.Err()
	}
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	chunks := (n + chunkSize - 1) / chunkSize
	workers = min(workers, chunks)

	// Deferred calls run last-in first-out: cancel first, so that every
	// goroutine stops, then wait for them, so that none outlives Generate.
	var wg sync.WaitGroup
	defer wg.Wait()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	type job struct {
		start, end int
		out        chan []registry.Record
	}
	jobs := make(chan job)
	// order carries each chunk's result channel in index order, so the
	// caller can wait for chunks in turn while later ones are computed.
	order := make(chan chan []registry.Record, 2*workers)
	// free recycles chunk buffers the caller is done with.
	free := make(chan []registry.Record, 3*workers+1)

	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(order)
		defer close(jobs)
		for c := range chunks {
			j := job{start: c * chunkSize, end: min(n, (c+1)*chunkSize), out: make(chan []registry.Record, 1)}
			select {
			case jobs <- j:
			case <-ctx.Done():
				return
			}
			select {
			case order <- j.out:
			case <-ctx.Done():
				return
			}
		}
	}()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				var buf []registry.Record
				select {
				case buf = <-free:
				default:
					buf = make([]registry.Record, chunkSize)
				}
				buf = buf[:j.end-j.start]
				for k := range buf {
					buf[k] = g.Record(j.start + k)
				}
				j.out <- buf // buffered: never blocks
			}
		}()
	}

	i := 0
	for out := range order {
		var buf []registry.Record
		select {
		case buf = <-out:
		case <-ctx.Done():
			return ctx.Err()
		}
		for k := range buf {
			if err := fn(i, buf[k]); err != nil {
				return err
			}
			i++
		}
		clear(buf) // drop references to the records' strings
		select {
		case free <- buf[:cap(buf)]:
		default:
		}
	}
	if i < n {
		return ctx.Err() // the dispatcher stopped early: ctx was done
	}
	return nil
}
