package main

import (
	"context"
	"fmt"
	"runtime/debug"
)

// runVersion prints the module version, the commit it was built from
// (and whether the tree had changes) and the Go version, from the build
// information the Go toolchain embeds.
func runVersion(_ context.Context, args []string, e env) error {
	fs := newFlags("version", e)
	if help, err := parse(fs, args); help || err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{"usage: degreegate version"}
	}
	fmt.Fprintln(e.stdout, versionLine())
	return nil
}

func versionLine() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "degreegate (no build information)"
	}
	line := "degreegate " + bi.Main.Version
	var rev, at, modified string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			at = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				modified = ", modified"
			}
		}
	}
	if rev != "" {
		if len(rev) > 12 {
			rev = rev[:12]
		}
		line += fmt.Sprintf(" (commit %s%s, %s)", rev, modified, at)
	}
	return line + " " + bi.GoVersion
}
