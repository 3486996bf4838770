package anonymizer

import (
	"math/rand/v2"
	"testing"
)

func TestTableGrowsAndKeepsValues(t *testing.T) {
	tb := newTable(4)
	want := map[uint64]int32{}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 20000 {
		k := rng.Uint64() >> rng.IntN(64) // small and large keys, zero included
		v := tb.insert(k, int32(i))
		if w, ok := want[k]; ok {
			if v != w {
				t.Fatalf("key %d: %d, want %d", k, v, w)
			}
			continue
		}
		if v != int32(i) {
			t.Fatalf("new key %d got %d", k, v)
		}
		want[k] = v
	}
	if tb.len() != len(want) {
		t.Fatalf("len %d, want %d", tb.len(), len(want))
	}
}

func TestGrouperAgreesAcrossPaths(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	keys := make([]uint64, 5000)
	for i := range keys {
		keys[i] = uint64(rng.IntN(300))
	}
	var g grouper
	direct := make([]int32, len(keys))
	hashed := make([]int32, len(keys))
	n1, reps1 := g.group(keys, 300, direct)   // small key space: array
	n2, reps2 := g.group(keys, 1<<50, hashed) // claimed large: hash table
	if n1 != n2 || len(reps1) != len(reps2) {
		t.Fatalf("%d groups vs %d", n1, n2)
	}
	for i := range keys {
		if direct[i] != hashed[i] || keys[reps1[direct[i]]] != keys[i] {
			t.Fatalf("key %d: %d vs %d", i, direct[i], hashed[i])
		}
	}
}
