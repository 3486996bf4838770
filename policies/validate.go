package policies

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Hard bounds no policy may exceed, because the design or the regulation
// fixes them.
const (
	maxBatchCeiling   = 100_000              // memory per request stays bounded
	maxTokenLifetime  = 24 * time.Hour       // tokens are short-lived (DESIGN.md "Tokens")
	maxCodeValidity   = 366 * 24 * time.Hour // holder codes are time-limited
	maxDatasetTerm    = 366 * 24 * time.Hour // datasets are temporary (Art. 23)
	lastArticle       = 30                   // the rules have 30 articles
	maxVersionLength  = 64
	maxPurposeIDRunes = 64
	// The trail's retention has a floor no policy file can lower: Art.
	// 15 asks that the record of every use be kept, the rules name no
	// term, and the Cybersecurity Law (Art. 21) asks six months of
	// network logs at least; three years is the floor this product
	// sets, so that a holder can always see who looked in the last three
	// years and an inquiry can reach back as far.
	MinAuditRetentionMonths     = 36
	DefaultAuditRetentionMonths = 120
	maxAuditRetentionMonths     = 1200
)

// buildPolicy validates a decoded document and turns it into a Policy. It stops
// at the first problem, visiting the document in a fixed order so that a
// given bad file always gets the same message.
func buildPolicy(doc *document) (*Policy, error) {
	fail := func(path, format string, args ...any) (*Policy, error) {
		return nil, &Error{Path: path, Msg: fmt.Sprintf(format, args...)}
	}
	switch {
	case doc.Format == nil:
		return fail("format", "missing; this package reads format %d", formatVersion)
	case *doc.Format != formatVersion:
		return fail("format", "unsupported format %d; this package reads format %d", *doc.Format, formatVersion)
	}
	if msg := checkVersion(doc.Version); msg != "" {
		return fail("version", "%s", msg)
	}
	p := &Policy{
		version:     doc.Version,
		description: doc.Description,
		purposes:    map[string]Purpose{},
		audiences:   map[Audience]*audienceRules{},
		forbidden:   map[string]bool{},
	}
	if err := p.buildPurposes(doc.Purposes); err != nil {
		return nil, err
	}
	if doc.Datasets == nil {
		return fail("datasets", "missing; a policy must state the dataset rules")
	}
	if err := p.buildDatasets(doc.Datasets, "datasets"); err != nil {
		return nil, err
	}
	for _, name := range sortedKeys(doc.Audiences) {
		if !Audience(name).known() {
			return fail(join("audiences", name), "unknown audience; known: %s", list(Audiences()))
		}
	}
	for _, a := range Audiences() {
		path := join("audiences", string(a))
		ad, ok := doc.Audiences[string(a)]
		if !ok {
			return fail(path, "missing; describe every audience (an empty object grants nothing)")
		}
		r, err := p.buildAudience(a, ad, path)
		if err != nil {
			return nil, err
		}
		p.audiences[a] = r
	}
	if doc.HolderCodes == nil {
		return fail("holder_codes", "missing; a policy must bound holder codes")
	}
	if err := p.buildHolderCodes(doc.HolderCodes, "holder_codes"); err != nil {
		return nil, err
	}
	p.auditRetention = DefaultAuditRetentionMonths
	if doc.Audit != nil && doc.Audit.RetentionMonths != nil {
		n := *doc.Audit.RetentionMonths
		if n < MinAuditRetentionMonths || n > maxAuditRetentionMonths {
			return fail("audit.retention_months", "%d is out of range: keep the trail at least %d months (no policy may go below) and at most %d",
				n, MinAuditRetentionMonths, maxAuditRetentionMonths)
		}
		p.auditRetention = n
	}
	return p, nil
}

func checkVersion(v string) string {
	if v == "" {
		return "missing; every decision carries the policy version"
	}
	if len(v) > maxVersionLength {
		return fmt.Sprintf("longer than %d characters", maxVersionLength)
	}
	// The version travels in HTTP headers and audit entries: keep it to
	// characters that need no escaping anywhere.
	for _, r := range v {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._:+-", r)) {
			return "may hold only letters, digits and . _ : + -"
		}
	}
	return ""
}

func (p *Policy) buildPurposes(docs map[string]purposeDoc) error {
	for _, id := range sortedKeys(docs) {
		path := join("purposes", id)
		if !validIdent(id, maxPurposeIDRunes) {
			return &Error{Path: path, Msg: "a purpose id is lower-case letters, digits and _, starting with a letter"}
		}
		d := docs[id]
		if msg := checkLegalBasis(d.LegalBasis); msg != "" {
			return &Error{Path: path + ".legal_basis", Msg: msg}
		}
		if err := checkText(d.Description, path+".description"); err != nil {
			return err
		}
		if err := checkOrgPatterns(d.Orgs, path+".orgs"); err != nil {
			return err
		}
		p.purposes[id] = Purpose{ID: id, LegalBasis: d.LegalBasis, Description: Text(d.Description), Orgs: slices.Clone(d.Orgs)}
	}
	return nil
}

func validIdent(s string, max int) bool {
	if s == "" || len(s) > max || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_') {
			return false
		}
	}
	return true
}

// checkLegalBasis accepts citations of the rules' articles: "Art. 20",
// "Art. 9.1", or several joined by ", " ("Art. 21, Art. 23").
func checkLegalBasis(s string) string {
	const want = `cite articles of the rules as "Art. N" or "Art. N.M", several joined by ", "`
	if s == "" {
		return "missing; " + want
	}
	for _, c := range strings.Split(s, ", ") {
		num, ok := strings.CutPrefix(c, "Art. ")
		if !ok {
			return fmt.Sprintf("%s: %s", quoteName(s), want)
		}
		art, sub, hasSub := strings.Cut(num, ".")
		n, err := strconv.Atoi(art)
		if err != nil || art[0] == '0' || n < 1 || n > lastArticle {
			return fmt.Sprintf("%s: no article %s; the rules have articles 1–%d", quoteName(s), quoteName(art), lastArticle)
		}
		if hasSub {
			if m, err := strconv.Atoi(sub); err != nil || sub[0] == '0' || m < 1 {
				return fmt.Sprintf("%s: %s", quoteName(s), want)
			}
		}
	}
	return ""
}

func checkText(t textDoc, path string) error {
	switch {
	case strings.TrimSpace(t.ZH) == "":
		return &Error{Path: path + ".zh", Msg: "missing; describe it in Chinese"}
	case strings.TrimSpace(t.EN) == "":
		return &Error{Path: path + ".en", Msg: "missing; describe it in English"}
	}
	return nil
}

// checkOrgPatterns accepts exact organisation names ("gov:mps") and type
// prefixes ending in ":" ("gov:"): lower-case letters, digits, and
// . _ - : with no empty segment.
func checkOrgPatterns(patterns []string, path string) error {
	for i, pat := range patterns {
		at := fmt.Sprintf("%s[%d]", path, i)
		body := strings.TrimSuffix(pat, ":")
		ok := body != "" && len(pat) <= 128
		for _, seg := range strings.Split(body, ":") {
			ok = ok && seg != ""
			for _, r := range seg {
				ok = ok && (r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || strings.ContainsRune("._-", r))
			}
		}
		if !ok {
			return &Error{Path: at, Msg: fmt.Sprintf("bad organisation pattern %s: an org such as \"gov:mps\" or a type prefix such as \"gov:\"", quoteName(pat))}
		}
		if slices.Contains(patterns[:i], pat) {
			return &Error{Path: at, Msg: fmt.Sprintf("organisation pattern %s listed twice", quoteName(pat))}
		}
	}
	return nil
}

// parseDuration reads Go durations ("90s", "1h30m") and whole days ("30d").
func parseDuration(s string) (time.Duration, string) {
	if s == "" {
		return 0, "missing; a duration such as \"15m\", \"1h\" or \"30d\""
	}
	var d time.Duration
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n > 100_000 {
			return 0, fmt.Sprintf("bad duration %s; use e.g. \"15m\", \"1h\" or \"30d\"", quoteName(s))
		}
		d = time.Duration(n) * 24 * time.Hour
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			return 0, fmt.Sprintf("bad duration %s; use e.g. \"15m\", \"1h\" or \"30d\"", quoteName(s))
		}
	}
	if d <= 0 {
		return 0, fmt.Sprintf("duration %s must be positive", quoteName(s))
	}
	return d, ""
}

func (p *Policy) buildAudience(a Audience, d audienceDoc, path string) (*audienceRules, error) {
	r := &audienceRules{grants: map[Scope]*grant{}}
	if len(d.Orgs) > 0 && !a.Tokened() {
		return nil, &Error{Path: path + ".orgs", Msg: fmt.Sprintf("audience %s has no token, so no organisation to restrict", a)}
	}
	if err := checkOrgPatterns(d.Orgs, path+".orgs"); err != nil {
		return nil, err
	}
	r.orgs = slices.Clone(d.Orgs)
	limits, err := buildLimits(a, d.Limits, path+".limits")
	if err != nil {
		return nil, err
	}
	r.limits = limits
	for _, name := range sortedKeys(d.Scopes) {
		gpath := join(path+".scopes", name)
		g, err := p.buildGrant(a, Scope(name), d.Scopes[name], gpath)
		if err != nil {
			return nil, err
		}
		r.grants[Scope(name)] = g
	}
	return r, nil
}

func buildLimits(a Audience, d limitsDoc, path string) (Limits, error) {
	var l Limits
	rates := []struct {
		key    string
		doc    *rateDoc
		dst    *Rate
		allow  bool
		reason string
	}{
		{"per_client", d.PerClient, &l.PerClient, true, ""},
		{"per_block", d.PerBlock, &l.PerBlock, true, ""},
		{"per_subject", d.PerSubject, &l.PerSubject, a.Tokened(), "only audiences with tokens have a subject"},
		{"per_org", d.PerOrg, &l.PerOrg, a.Tokened(), "only audiences with tokens have an organisation"},
		{"per_certificate", d.PerCertificate, &l.PerCertificate, a == Public, "only public verification asks by certificate number and name"},
		{"per_code", d.PerCode, &l.PerCode, a == HolderCode, "only holder_code callers present a code"},
	}
	for _, r := range rates {
		if r.doc == nil {
			continue
		}
		at := path + "." + r.key
		if !r.allow {
			return l, &Error{Path: at, Msg: r.reason}
		}
		switch {
		case r.doc.RPS == nil:
			return l, &Error{Path: at + ".rps", Msg: "missing; requests per second"}
		case *r.doc.RPS <= 0:
			return l, &Error{Path: at + ".rps", Msg: fmt.Sprintf("must be positive, not %g (leave the limit out for none)", *r.doc.RPS)}
		case r.doc.Burst == nil:
			return l, &Error{Path: at + ".burst", Msg: "missing; the largest burst"}
		case *r.doc.Burst < 1:
			return l, &Error{Path: at + ".burst", Msg: fmt.Sprintf("must be at least 1, not %d", *r.doc.Burst)}
		}
		*r.dst = Rate{PerSecond: *r.doc.RPS, Burst: *r.doc.Burst}
	}
	if d.DailyQuotaPerOrg != nil {
		at := path + ".daily_quota_per_org"
		switch {
		case !a.Tokened():
			return l, &Error{Path: at, Msg: "only audiences with tokens have an organisation"}
		case *d.DailyQuotaPerOrg < 1:
			return l, &Error{Path: at, Msg: fmt.Sprintf("must be at least 1, not %d (leave it out for no quota)", *d.DailyQuotaPerOrg)}
		}
		l.DailyQuotaPerOrg = *d.DailyQuotaPerOrg
	}
	at := path + ".max_token_lifetime"
	switch {
	case !a.Tokened() && d.MaxTokenLifetime != "":
		return l, &Error{Path: at, Msg: fmt.Sprintf("audience %s has no token", a)}
	case a.Tokened():
		dur, msg := parseDuration(d.MaxTokenLifetime)
		if msg != "" {
			return l, &Error{Path: at, Msg: msg}
		}
		if dur > maxTokenLifetime {
			return l, &Error{Path: at, Msg: fmt.Sprintf("%s is longer than the %s any token may live", dur, maxTokenLifetime)}
		}
		l.MaxTokenLifetime = dur
	}
	return l, nil
}

func (p *Policy) buildGrant(a Audience, s Scope, d grantDoc, path string) (*grant, error) {
	spec, ok := specOf(s)
	if !ok {
		return nil, &Error{Path: path, Msg: fmt.Sprintf("unknown scope %s; known: %s", quoteName(string(s)), list(Scopes()))}
	}
	if !spec.allows(a) {
		return nil, &Error{Path: path, Msg: fmt.Sprintf("scope %s cannot be granted to audience %s, only to %s", s, a, list(spec.audiences))}
	}
	if msg := checkLegalBasis(d.LegalBasis); msg != "" {
		return nil, &Error{Path: path + ".legal_basis", Msg: msg}
	}
	g := &grant{legalBasis: d.LegalBasis, requireJTI: d.RequireJTI, maxBatch: 1}

	// Organisations: a grant may narrow the audience's; a filing scope
	// must say which organisations hold it (a unit collects, a province
	// reviews, the national office consents).
	switch {
	case len(d.Orgs) > 0 && !a.Tokened():
		return nil, &Error{Path: path + ".orgs", Msg: fmt.Sprintf("audience %s has no token, so no organisation to restrict", a)}
	case len(d.Orgs) == 0 && spec.orgs:
		return nil, &Error{Path: path + ".orgs", Msg: fmt.Sprintf("missing; scope %s is held by the organisations named here", s)}
	}
	if err := checkOrgPatterns(d.Orgs, path+".orgs"); err != nil {
		return nil, err
	}
	g.orgs = slices.Clone(d.Orgs)

	// Fields, or levels of fields.
	switch {
	case !spec.record && (d.Fields != nil || d.Levels != nil):
		key := ".fields"
		if d.Fields == nil {
			key = ".levels"
		}
		return nil, &Error{Path: path + key, Msg: fmt.Sprintf("scope %s discloses no record fields", s)}
	case spec.record && a == HolderCode:
		if d.Fields != nil {
			return nil, &Error{Path: path + ".fields", Msg: "holder_code fields are given per detail level, under levels"}
		}
		if len(d.Levels) == 0 {
			return nil, &Error{Path: path + ".levels", Msg: "missing; holder_code needs at least one detail level"}
		}
		g.levels, g.levelText = map[string][]FieldRule{}, map[string]Text{}
		for _, name := range sortedKeys(d.Levels) {
			lpath := join(path+".levels", name)
			if !validIdent(name, 32) {
				return nil, &Error{Path: lpath, Msg: "a level name is lower-case letters, digits and _, starting with a letter"}
			}
			lv := d.Levels[name]
			if err := checkText(lv.Description, lpath+".description"); err != nil {
				return nil, err
			}
			rules, err := buildFields(a, lv.Fields, lpath+".fields")
			if err != nil {
				return nil, err
			}
			g.levels[name], g.levelText[name] = rules, Text(lv.Description)
		}
	case spec.record:
		if d.Levels != nil {
			return nil, &Error{Path: path + ".levels", Msg: "detail levels are offered only to holder_code"}
		}
		if len(d.Fields) == 0 {
			return nil, &Error{Path: path + ".fields", Msg: fmt.Sprintf("missing; scope %s discloses record fields, so list them", s)}
		}
		rules, err := buildFields(a, d.Fields, path+".fields")
		if err != nil {
			return nil, err
		}
		g.fields = rules
	}

	// Purposes.
	if spec.purposes == purposeDataset && d.Purposes != nil {
		return nil, &Error{Path: path + ".purposes", Msg: "dataset purposes are listed once, in datasets.purposes"}
	}
	for i, id := range d.Purposes {
		at := fmt.Sprintf("%s.purposes[%d]", path, i)
		if msg := p.acceptable(id); msg != "" {
			return nil, &Error{Path: at, Msg: msg}
		}
		if slices.Contains(d.Purposes[:i], id) {
			return nil, &Error{Path: at, Msg: fmt.Sprintf("purpose %s listed twice", quoteName(id))}
		}
	}
	if a == Agency && spec.record && len(d.Purposes) == 0 {
		return nil, &Error{Path: path + ".purposes", Msg: "missing; agencies share only for a declared purpose (Art. 20)"}
	}
	g.purposes = slices.Clone(d.Purposes)

	// Batches and replay protection.
	switch {
	case spec.batch && d.MaxBatch == nil:
		return nil, &Error{Path: path + ".max_batch", Msg: "missing; the largest batch"}
	case !spec.batch && d.MaxBatch != nil:
		return nil, &Error{Path: path + ".max_batch", Msg: fmt.Sprintf("scope %s takes one item per call", s)}
	case spec.batch && (*d.MaxBatch < 1 || *d.MaxBatch > maxBatchCeiling):
		return nil, &Error{Path: path + ".max_batch", Msg: fmt.Sprintf("must be between 1 and %d, not %d", maxBatchCeiling, *d.MaxBatch)}
	case spec.batch:
		g.maxBatch = *d.MaxBatch
	}
	if d.RequireJTI && !a.Tokened() {
		return nil, &Error{Path: path + ".require_jti", Msg: fmt.Sprintf("audience %s has no token", a)}
	}
	return g, nil
}

// acceptable says why a purpose may not be accepted by a grant or a
// dataset, or "" when it may.
func (p *Policy) acceptable(id string) string {
	pu, ok := p.purposes[id]
	switch {
	case !ok:
		return fmt.Sprintf("unknown purpose %s; define it under purposes", quoteName(id))
	case p.forbidden[id]:
		return fmt.Sprintf("purpose %s is forbidden (%s) and cannot be accepted", id, pu.LegalBasis)
	}
	return ""
}

func buildFields(a Audience, fields map[string]string, path string) ([]FieldRule, error) {
	rules := make([]FieldRule, 0, len(fields))
	for _, name := range sortedKeys(fields) {
		at := join(path, name)
		f, ok := LookupField(name)
		if !ok {
			return nil, &Error{Path: at, Msg: "unknown field; see DESIGN.md \"Record fields\""}
		}
		m := Mask(fields[name])
		if !m.Known() {
			return nil, &Error{Path: at, Msg: fmt.Sprintf("unknown mask %s; known: %s", quoteName(string(m)), list(Masks()))}
		}
		if !m.fits(f.Kind) {
			return nil, &Error{Path: at, Msg: fmt.Sprintf("mask %s needs a date or month field, and %s is %s", m, name, f.Kind)}
		}
		if a == Public {
			if msg := publicForbids(f, m); msg != "" {
				return nil, &Error{Path: at, Msg: msg}
			}
		}
		if m == MaskDrop {
			continue // same as not listing it
		}
		rules = append(rules, FieldRule{Field: name, Kind: f.Kind, Mask: m, NeverIfClassified: f.NeverIfClassified})
	}
	return rules, nil
}

// publicForbids encodes Art. 22's "effectively protecting the holder's
// privacy" for queries by anyone: a name only masked, no other direct
// identifier, no birth date, nothing of the thesis. No policy can relax
// it.
func publicForbids(f Field, m Mask) string {
	switch {
	case m == MaskDrop:
		return ""
	case f.Name == "name":
		if m != MaskName && m != MaskInitial {
			return "the public sees names only through the name or initial mask (Art. 22)"
		}
		return ""
	case f.Class == DirectIdentifier:
		return "the public audience may not see a direct identifier (Art. 22)"
	case f.Name == "birth_date":
		return "the public audience may not see the birth date (Art. 22)"
	case f.NeverIfClassified || f.Group == "thesis":
		return "the public audience may not see thesis information (Art. 22, 25)"
	}
	return ""
}

func (p *Policy) buildDatasets(d *datasetsDoc, path string) error {
	r := &p.datasets
	switch {
	case d.MinK == nil:
		return &Error{Path: path + ".min_k", Msg: "missing; the smallest k a dataset may have"}
	case *d.MinK < 2:
		return &Error{Path: path + ".min_k", Msg: fmt.Sprintf("must be at least 2, not %d", *d.MinK)}
	case d.MinL == nil:
		return &Error{Path: path + ".min_l", Msg: "missing; the smallest l when a sensitive field is named"}
	case *d.MinL < 2:
		return &Error{Path: path + ".min_l", Msg: fmt.Sprintf("must be at least 2, not %d", *d.MinL)}
	case d.MaxSuppression == nil:
		return &Error{Path: path + ".max_suppression", Msg: "missing; the largest share of suppressed records"}
	case *d.MaxSuppression < 0 || *d.MaxSuppression >= 1:
		return &Error{Path: path + ".max_suppression", Msg: fmt.Sprintf("must be in [0, 1), not %g", *d.MaxSuppression)}
	}
	r.MinK, r.MinL, r.MaxSuppression = *d.MinK, *d.MinL, *d.MaxSuppression
	term, msg := parseDuration(d.MaxTerm)
	if msg == "" && term > maxDatasetTerm {
		msg = fmt.Sprintf("%s is longer than the %s a temporary dataset may live (Art. 23)", term, maxDatasetTerm)
	}
	if msg != "" {
		return &Error{Path: path + ".max_term", Msg: msg}
	}
	r.MaxTerm = term

	// Forbidden purposes first: they bind every other purpose list.
	for i, id := range d.ForbiddenPurposes {
		at := fmt.Sprintf("%s.forbidden_purposes[%d]", path, i)
		if _, ok := p.purposes[id]; !ok {
			return &Error{Path: at, Msg: fmt.Sprintf("unknown purpose %s; define it under purposes", quoteName(id))}
		}
		if p.forbidden[id] {
			return &Error{Path: at, Msg: fmt.Sprintf("purpose %s listed twice", quoteName(id))}
		}
		p.forbidden[id] = true
	}
	r.ForbiddenPurposes = slices.Clone(d.ForbiddenPurposes)
	for i, id := range d.Purposes {
		at := fmt.Sprintf("%s.purposes[%d]", path, i)
		if msg := p.acceptable(id); msg != "" {
			return &Error{Path: at, Msg: msg}
		}
		if slices.Contains(d.Purposes[:i], id) {
			return &Error{Path: at, Msg: fmt.Sprintf("purpose %s listed twice", quoteName(id))}
		}
	}
	r.Purposes = slices.Clone(d.Purposes)

	for _, name := range sortedKeys(d.Fields) {
		at := join(path+".fields", name)
		f, ok := LookupField(name)
		if !ok {
			return &Error{Path: at, Msg: "unknown field; see DESIGN.md \"Record fields\""}
		}
		if f.Class == DirectIdentifier {
			return &Error{Path: at, Msg: "a direct identifier; datasets never carry one (Art. 23)"}
		}
		fd := d.Fields[name]
		role, h := Role(fd.Role), Hierarchy(fd.Hierarchy)
		switch {
		case fd.Role == retiredInsensitive:
			return &Error{Path: at + ".role", Msg: fmt.Sprintf("no field is released as it is, since a rare value singles its holders out: %s must be a %s (hierarchy %q keeps a value or suppresses it) or the %s attribute",
				name, RoleQuasiIdentifier, HierarchyFlat, RoleSensitive)}
		case !role.known():
			return &Error{Path: at + ".role", Msg: fmt.Sprintf("unknown role %s; known: %s", quoteName(fd.Role),
				list([]Role{RoleQuasiIdentifier, RoleSensitive}))}
		case role != RoleQuasiIdentifier && h != "":
			return &Error{Path: at + ".hierarchy", Msg: fmt.Sprintf("only a %s is generalised", RoleQuasiIdentifier)}
		case role == RoleQuasiIdentifier && h == "":
			return &Error{Path: at + ".hierarchy", Msg: "missing; a quasi-identifier needs a hierarchy"}
		case role == RoleQuasiIdentifier && !slices.Contains(Hierarchies(), h):
			return &Error{Path: at + ".hierarchy", Msg: fmt.Sprintf("unknown hierarchy %s; known: %s", quoteName(fd.Hierarchy), list(Hierarchies()))}
		case f.Class == QuasiIdentifier && role != RoleQuasiIdentifier:
			return &Error{Path: at + ".role", Msg: fmt.Sprintf("%s identifies in combination, so it must be a %s", name, RoleQuasiIdentifier)}
		}
		if role == RoleQuasiIdentifier {
			if ok, needs := h.fits(f); !ok {
				return &Error{Path: at + ".hierarchy", Msg: fmt.Sprintf("hierarchy %s generalises %s only", h, needs)}
			}
		}
		r.Fields = append(r.Fields, DatasetField{Name: name, Role: role, Hierarchy: h, NeverIfClassified: f.NeverIfClassified})
	}
	return nil
}

func (p *Policy) buildHolderCodes(d *holderCodesDoc, path string) error {
	h := &p.holderCodes
	for _, x := range []struct {
		key string
		src string
		dst *time.Duration
	}{
		{"min_validity", d.MinValidity, &h.MinValidity},
		{"max_validity", d.MaxValidity, &h.MaxValidity},
		{"default_validity", d.DefaultValidity, &h.DefaultValidity},
	} {
		dur, msg := parseDuration(x.src)
		if msg != "" {
			return &Error{Path: path + "." + x.key, Msg: msg}
		}
		*x.dst = dur
	}
	switch {
	case h.MinValidity > h.MaxValidity:
		return &Error{Path: path + ".min_validity", Msg: fmt.Sprintf("%s is more than max_validity %s", h.MinValidity, h.MaxValidity)}
	case h.MaxValidity > maxCodeValidity:
		return &Error{Path: path + ".max_validity", Msg: fmt.Sprintf("%s is longer than %s; codes are time-limited", h.MaxValidity, maxCodeValidity)}
	case h.DefaultValidity < h.MinValidity || h.DefaultValidity > h.MaxValidity:
		return &Error{Path: path + ".default_validity", Msg: fmt.Sprintf("%s is outside min_validity–max_validity", h.DefaultValidity)}
	case d.MaxActive == nil:
		return &Error{Path: path + ".max_active", Msg: "missing; the most unexpired codes a holder may have"}
	case *d.MaxActive < 1:
		return &Error{Path: path + ".max_active", Msg: fmt.Sprintf("must be at least 1, not %d", *d.MaxActive)}
	}
	h.MaxActive = *d.MaxActive
	// The levels are the field sets holder_code is granted; descriptions
	// come from there too, so the two cannot drift apart.
	var levels map[string][]FieldRule
	if g, ok := p.audiences[HolderCode].grants[ScopeVerify]; ok {
		levels = g.levels
		for _, name := range sortedKeys(levels) {
			h.Levels = append(h.Levels, Level{Name: name, Description: g.levelText[name]})
		}
	}
	if _, ok := levels[d.DefaultLevel]; !ok {
		return &Error{Path: path + ".default_level", Msg: fmt.Sprintf("unknown level %s; the levels are those of audiences.holder_code.scopes[\"degree.verify\"].levels", quoteName(d.DefaultLevel))}
	}
	h.DefaultLevel = d.DefaultLevel
	return nil
}

func list[T ~string](xs []T) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = string(x)
	}
	return strings.Join(s, ", ")
}
