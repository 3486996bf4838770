// Package datasets runs the research datasets of Art. 23–24: an
// official's request, checked against the policy; the decision of a
// second official; the build, which streams the selected records through
// the anonymizer and writes data.csv, data.parquet, report.html and
// manifest.json into the dataset's own folder; the contractor's download;
// expiry and purge; and the trace that names the dataset a leaked file
// came from. Every step goes on the audit trail.
//
// The algorithms (k-anonymity, l-diversity, pseudonyms, hierarchies) are
// package anonymizer's; this package holds the lifecycle around them. It
// imports anonymizer, registry and policies, never the gateway or a
// driver: the gateway's contractor and office routes and the
// `degreegate dataset` verbs share one Service.
package datasets
