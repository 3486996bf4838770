// Package anonymizer turns a table into a k-anonymous (and optionally
// l-diverse) one by generalising its quasi-identifiers along hierarchies,
// and reports what that cost and what risk is left.
//
// The engine works in two passes so that tables larger than memory can
// stream through it: Add each row (only small integer codes are kept),
// Solve to search the generalisation lattice, then ask the Result for
// each row's generalised values in the order the rows were added.
//
// Method Global is full-domain global recoding (one level per column, so
// every column stays consistent): an optimal search over the lattice of
// level vectors for the node of least information loss that satisfies
// k-anonymity with at most MaxSuppression of the rows suppressed. Method
// Mondrian partitions the table top-down along the hierarchies instead
// (multidimensional local recoding), without suppression.
//
// Information loss is the normalised certainty penalty (NCP, the "Loss"
// metric of ARX after Iyengar 2002): a value generalised to a label that
// covers m of the column's D leaf values costs (m-1)/(D-1), a suppressed
// value costs 1, averaged over all cells of the quasi-identifiers. See
// search.go for how the search stays optimal although suppression makes
// that measure non-monotone.
//
// The research datasets of the registry (request, approval, build,
// download, purge) are package datasets', which runs this engine on the
// records a request selects.
package anonymizer

// Version names the engine in manifests; bump it when results change.
const Version = "degreegate-anonymizer/1"
