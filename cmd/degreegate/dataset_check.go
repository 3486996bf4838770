package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/degreegate/degreegate/anonymizer/check"
)

// runDataset dispatches the dataset sub-verbs: check lives here;
// request, approve, reject, build, list, purge and trace in dataset.go.
func runDataset(ctx context.Context, args []string, e env) error {
	if len(args) == 0 {
		return usageError{datasetUsage}
	}
	switch {
	case args[0] == "check":
		return runDatasetCheck(ctx, args[1:], e)
	case datasetVerbKnown(args[0]): // dataset.go
		return runDatasetVerb(ctx, args[0], args[1:], e)
	}
	return usageError{fmt.Sprintf("dataset: unknown sub-command %q\n%s", args[0], datasetUsage)}
}

// checkOptions are the flags of dataset check.
type checkOptions struct {
	file           string
	sep            sepFlag
	qi             string
	k, l           int
	diversity      string
	sensitive      string
	person         string
	maxSuppression float64
}

// runDatasetCheck recomputes k (and l) from an anonymised file alone,
// with package check, which shares no code with the engine's accounting.
func runDatasetCheck(ctx context.Context, args []string, e env) error {
	fs := newFlags("dataset check", e)
	var o checkOptions
	fs.Var(&o.sep, "sep", "field separator (default: detected from the header)")
	fs.StringVar(&o.qi, "qi", "", "quasi-identifier columns, comma-separated")
	fs.IntVar(&o.k, "k", 0, "the k to verify")
	fs.StringVar(&o.sensitive, "sensitive", "", "sensitive column for l-diversity")
	fs.IntVar(&o.l, "l", 0, "the l to verify (needs --sensitive)")
	fs.StringVar(&o.diversity, "diversity", "distinct", "distinct or entropy")
	fs.StringVar(&o.person, "person", "", "column identifying the person: classes count people")
	fs.Float64Var(&o.maxSuppression, "max-suppression", -1, "also verify that at most this share of rows is suppressed")
	// FILE may come before or after the flags.
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		o.file, args = args[0], args[1:]
	}
	if help, err := parse(fs, args); help || err != nil {
		return err
	}
	if o.file == "" && fs.NArg() > 0 {
		o.file = fs.Arg(0)
	} else if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("dataset check: unexpected argument %q", fs.Arg(0))}
	}
	switch {
	case o.file == "":
		return usageError{"dataset check: FILE is required"}
	case o.qi == "":
		return usageError{"dataset check: --qi is required"}
	case o.k < 1:
		return usageError{"dataset check: --k must be at least 1"}
	case (o.l > 0) != (o.sensitive != ""):
		return usageError{"dataset check: --sensitive and --l go together"}
	case o.diversity != "distinct" && o.diversity != "entropy":
		return usageError{"dataset check: --diversity must be distinct or entropy"}
	}
	rep, err := check.File(ctx, o.file, check.Options{
		Sep: o.sep.b, QI: strings.Split(o.qi, ","), K: o.k, Sensitive: o.sensitive, L: o.l,
		Diversity: o.diversity, Person: o.person, MaxSuppression: o.maxSuppression,
	})
	if err != nil {
		return fmt.Errorf("dataset check: %w", err)
	}
	fmt.Fprint(e.stdout, rep.String())
	if !rep.OK {
		return errReported
	}
	return nil
}
