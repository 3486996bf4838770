// Command degreegate is the one binary of degreegate: the gateway in its
// dev and serve modes and the operator's verbs. main only wires: every verb
// is a function of (ctx, args, environment, streams), testable in-process.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		if !errors.Is(err, errReported) {
			fmt.Fprintln(os.Stderr, "degreegate:", err)
		}
		os.Exit(exitCode(err))
	}
}

// errReported marks a failure whose message the verb already printed.
var errReported = errors.New("failed")

// usageError is a bad command line: exit status 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func exitCode(err error) int {
	var u usageError
	if errors.As(err, &u) {
		return 2
	}
	return 1
}

// env is what a verb gets from the outside world.
type env struct {
	getenv func(string) string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
}

type verb struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, e env) error
}

func verbs() []verb {
	return []verb{
		{"dev", "run the gateway with an embedded, synthetic registry (no services needed)", runDev},
		{"serve", "run the production gateway on PostgreSQL (DATABASE_URL) and Redis (REDIS_URL)", runServe},
		{"token", "mint a token with a given private key, for dev and tests", runToken},
		{"issuer", "issuer init --dir DIR: a test identity provider serve can trust (its key, JWK set and trusted-issuers file), for trying the stack", runIssuer},
		{"health", "health [--url URL]: exit 0 if the gateway is ready (GET /readyz), for container health checks", runHealth},
		{"revoke", "revoke CERT --resolution R --reason X --on DATE: revoke a degree and broadcast it to the replicas", runRevoke},
		{"keys", "keys init --dir DIR: create the receipt-signing, data-encryption, blind-index and log keys that are missing", runKeys},
		{"migrate", "apply the embedded database migrations to DATABASE_URL", runMigrate},
		{"gen", "write deterministic synthetic records as CSV or JSONL", runGen},
		{"import", "file records from CSV or JSONL files into DATABASE_URL", runImport},
		{"audit", "audit verify [--checkpoint FILE] [--archives DIR]: check the audit trail and its log, against checkpoints kept outside the database (exit 1 on tampering); audit archive --out DIR: move entries past the policy's retention to archive files", runAudit},
		{"receipt", "receipt verify FILE --jwks FILE|URL: check a verification receipt's signature and that the log holds its entry", runReceipt},
		{"log", "log witness --url URL --state DIR: keep the log's checkpoints and check each extends the last (exit 1 on a rollback or fork)", runLog},
		{"anonymize", "k-anonymise any CSV table along ARX-style hierarchies; writes OUT and OUT.manifest.json", runAnonymize},
		{"version", "print the version, the commit it was built from and the Go version", runVersion},
		{"dataset", "research datasets: request, approve, reject, build, list, purge, trace; check FILE recomputes k (and l)", runDataset},
		{"filing", "filing overdue [--province CODE] [--unit CODE]: the records of the filing workflow waiting past their deadline (staff act through /v1/filing)", runFiling},
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	e := env{getenv: getenv, stdin: stdin, stdout: stdout, stderr: stderr}
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		printUsage(stdout)
		if len(args) == 0 {
			return usageError{"no command given"}
		}
		return nil
	}
	for _, v := range verbs() {
		if v.name == args[0] {
			err := v.run(ctx, args[1:], e)
			// A verb of sub-verbs asked for help answers its usage.
			var u usageError
			if len(args) == 2 && (args[1] == "-h" || args[1] == "--help" || args[1] == "-help") && errors.As(err, &u) {
				fmt.Fprintln(e.stdout, u.msg)
				return nil
			}
			return err
		}
	}
	printUsage(stderr)
	return usageError{fmt.Sprintf("unknown command %q", args[0])}
}

func printUsage(w io.Writer) {
	fmt.Fprintln(w, "usage: degreegate COMMAND [flags]\n\ncommands:")
	for _, v := range verbs() {
		fmt.Fprintf(w, "  %-10s %s\n", v.name, v.summary)
	}
	fmt.Fprintln(w, "\nRun 'degreegate COMMAND -h' for a command's flags.")
}
