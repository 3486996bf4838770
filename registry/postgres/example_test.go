package postgres_test

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/degreegate/degreegate/registry"
	"github.com/degreegate/degreegate/registry/postgres"
)

// Migrate once per deployment (replicas may race: they serialise on an
// advisory lock), then Open in every process; Open refuses a schema that
// lacks a migration.
func Example() {
	ctx := context.Background()
	url := os.Getenv("DATABASE_URL") // e.g. postgres://app@db/registry?search_path=registry
	if _, err := postgres.Migrate(ctx, url); err != nil {
		log.Fatal(err)
	}
	store, err := postgres.Open(ctx, url)
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()

	logKey, err := registry.NewLogKey(make([]byte, registry.KeySize)) // keys init writes log-leaf.key
	if err != nil {
		log.Fatal(err)
	}
	var batch []registry.Sealed // sealed by a registry.Keyring: no clear identifiers
	outcomes, err := registry.Insert(ctx, store, logKey, batch, registry.Change{Actor: "office:import", Reason: "annual filing"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(outcomes), "records")
	if _, err := registry.VerifyChain(ctx, store); err != nil {
		log.Fatal(err)
	}
}
