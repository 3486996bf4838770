package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"time"

	"github.com/degreegate/degreegate/registry"
)

func runKeys(ctx context.Context, args []string, e env) error {
	if len(args) == 0 || args[0] != "init" {
		return usageError{"usage: degreegate keys init --dir DIR"}
	}
	fs := newFlags("keys init", e)
	conf := newConfig(fs, "keys", e.getenv)
	origin := fs.String("log-origin", "", "the transparency log's name, which every checkpoint carries (default: degreegate/log/ and a random id)")
	existOK := fs.Bool("exist-ok", false, "succeed, writing nothing, when every key exists already (for deployment steps run on every start)")
	if help, err := parse(fs, args[1:]); help || err != nil {
		return err
	}
	cfg, err := conf.load()
	if err != nil {
		return err
	}
	if cfg.KeysDir == "" {
		return usageError{"keys init: --dir is required"}
	}
	if *origin == "" {
		*origin = "degreegate/log/" + rand.Text()[:16]
	}
	written, err := registry.InitKeys(cfg.KeysDir, *origin, time.Now())
	if errors.Is(err, registry.ErrKeysExist) && *existOK {
		fmt.Fprintln(e.stdout, "every key exists already; nothing written")
		return nil
	}
	if err != nil {
		return fmt.Errorf("keys init: %w", err)
	}
	for _, p := range written {
		fmt.Fprintln(e.stdout, "created", p)
	}
	fmt.Fprintln(e.stdout, "Keep this folder secret and backed up: records sealed with a lost data key cannot be read.")
	fmt.Fprintf(e.stdout, "Give %s (public) to the log's witnesses and auditors.\n", registry.LogVerifierFile)
	return nil
}
