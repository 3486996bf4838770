package main

import (
	"errors"
	"flag"
)

// newFlags makes a flag set that reports errors instead of exiting.
func newFlags(name string, e env) *flag.FlagSet {
	fs := flag.NewFlagSet("degreegate "+name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	return fs
}

// parse parses args; -h is not an error, a bad flag is a usage error.
func parse(fs *flag.FlagSet, args []string) (help bool, err error) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return true, nil
		}
		return false, usageError{err.Error()}
	}
	return false, nil
}

// dbConfig is the database and key configuration that migrate, import,
// audit (and later serve and dataset) share: flags, defaulting to the
// environment of DESIGN.md.
type dbConfig struct {
	databaseURL string
	keysDir     string
}

func (c *dbConfig) register(fs *flag.FlagSet, e env, keys bool) {
	fs.StringVar(&c.databaseURL, "database-url", e.getenv("DATABASE_URL"), "PostgreSQL connection string (env DATABASE_URL)")
	if keys {
		fs.StringVar(&c.keysDir, "keys-dir", e.getenv("DEGREEGATE_KEYS_DIR"), "folder written by 'keys init' (env DEGREEGATE_KEYS_DIR)")
	}
}

func (c *dbConfig) requireDatabase() error {
	if c.databaseURL == "" {
		return usageError{"no database: set DATABASE_URL or --database-url"}
	}
	return nil
}
