package gateway

// guidance says, for every problem type a client can cause (4xx), what
// to do about it: RFC 9457's detail, given whenever an answer carries
// none of its own (problemHandler). TestEveryClientProblemHasGuidance
// keeps it complete.
var guidance = map[string]string{
	"/problems/not-found":               "no such resource; the routes are listed at /openapi.json",
	"/problems/method-not-allowed":      "use one of the methods the Allow header lists",
	"/problems/rate-limited":            "wait the seconds Retry-After gives; the RateLimit header says what is left of each allowance",
	"/problems/malformed-json":          "send one JSON object with the fields the route documents",
	"/problems/unsupported-media-type":  "send the Content-Type the route documents",
	"/problems/invalid-request":         "each entry of errors names a field and the rule it breaks",
	"/problems/body-too-large":          "send a smaller body; batches and sheets have documented size limits",
	"/problems/http":                    "the request could not be read as HTTP",
	"/problems/unauthenticated":         "send Authorization: Bearer with a token from a trusted issuer",
	"/problems/invalid-token":           "get a fresh token from your identity provider; the reason, when given, names the check that failed",
	"/problems/wrong-audience":          "use a token issued for this interface (agency, holder, contractor or office)",
	"/problems/cross-site":              "submit the form from this site's own page",
	"/problems/code-not-found":          "check the code as the holder gave it; letters are case-insensitive",
	"/problems/code-expired":            "ask the holder for a new code",
	"/problems/code-withdrawn":          "ask the holder for a new code",
	"/problems/certificate-not-found":   "choose one of the certificate numbers GET /v1/holder/degrees lists",
	"/problems/too-many-codes":          "withdraw a code you no longer need, or wait until one expires",
	"/problems/quota-exhausted":         "the organisation's daily quota renews at midnight (China Standard Time)",
	"/problems/token-replayed":          "mint a new single-use token (a fresh jti) for each call",
	"/problems/jti-required":            "batches need a single-use token: ask your identity provider for one with a jti",
	"/problems/batch-too-large":         "split the batch; the policy's limit is in detail when known",
	"/problems/dataset-expired":         "request a new dataset; expired files are deleted",
	"/problems/dataset-not-ready":       "wait until the dataset's status is built",
	"/problems/dataset-already-decided": "the request was approved or rejected already; GET it to see the decision",
	"/problems/self-decision":           "a second official must approve or reject this request",
	"/problems/no-checkpoint":           "the log signs a checkpoint within a second of its first entry; try again shortly",
	"/problems/receipt-not-found":       "check the receipt id (its jti) and the certificate number it is about",
	"/problems/log-range":               "ask for a leaf and a tree size within the newest checkpoint",
	// Policy refusals (policyProblem: /problems/ + policies.DeniedError.Code).
	"/problems/unknown-audience":       "use a token of an audience the policy describes",
	"/problems/unknown-scope":          "ask for a scope the policy defines for your audience",
	"/problems/scope-denied":           "your token lacks the scope this route needs; ask your identity provider for it",
	"/problems/org-denied":             "your organisation may not use this scope or purpose under the policy",
	"/problems/purpose-required":       "declare a purpose the policy accepts for your organisation",
	"/problems/purpose-rejected":       "declare a purpose the policy accepts for your organisation",
	"/problems/purpose-forbidden":      "the rules forbid this purpose (Art. 24)",
	"/problems/level-rejected":         "choose a detail level the policy offers for share codes",
	"/problems/validity-out-of-bounds": "choose a validity within the policy's bounds",
	"/problems/dataset-rule":           "change the request to meet the dataset rule detail names",
	"/problems/denied":                 "the policy refuses this; detail says why when it can",
}
