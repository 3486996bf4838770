package synth_test

import (
	"context"
	"fmt"

	"github.com/degreegate/degreegate/registry"
	"github.com/degreegate/degreegate/registry/synth"
)

func ExampleGenerator_Generate() {
	g := synth.New(1)
	perLevel := map[registry.DegreeLevel]int{}
	err := g.Generate(context.Background(), 10_000, 0, func(i int, r registry.Record) error {
		perLevel[r.DegreeLevel]++
		return nil
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(perLevel[registry.LevelBachelor] > perLevel[registry.LevelMaster],
		perLevel[registry.LevelMaster] > perLevel[registry.LevelDoctor])
	// Record(i) is the same record Generate passed as record i.
	fmt.Println(synth.New(1).Record(42).CertificateNumber == g.Record(42).CertificateNumber)
	// Output:
	// true true
	// true
}
