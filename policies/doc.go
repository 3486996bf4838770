// Package policies decides every disclosure degreegate makes: for each
// audience (who calls) and scope (what the call does) it says which record
// fields are visible and through which mask, which declared purposes are
// accepted and on what legal basis, how often a caller may ask, how large a
// batch may be, how long a holder's sharing code may live, and what a
// research dataset may contain (Art. 20–25 of the 2020 degree-conferral
// information rules).
//
// The rules live in a versioned JSON policy file: an embedded default
// (default.json, see Default) or an operator's file (Load). Decoding is
// strict — an unknown key, field, mask, scope, audience or purpose, a
// negative limit or a contradiction stops loading with one message that
// names the place, e.g.
//
//	policy: audiences.agency.scopes["degree.verify"].fields.id_number: unknown mask "partial"
//
// A loaded Policy is immutable and safe for concurrent use.
//
// # The file
//
//	format        1 (the shape of the document; this package reads 1)
//	version       names the content; carried by every decision and refusal
//	purposes      id → legal_basis ("Art. 20"), description {zh, en},
//	              orgs (who may declare it: "gov:", "unit:10001", …)
//	audiences     one entry for each of public, holder_code, holder,
//	              agency, contractor, office:
//	  orgs        organisations that may act as the audience
//	  limits      per_client, per_block, per_subject, per_org,
//	              per_certificate (public: wrong names per number and
//	              address block), per_code ({rps, burst}),
//	              daily_quota_per_org, max_token_lifetime
//	  scopes      scope → legal_basis, fields (field → mask) or, for
//	              holder_code, levels (level → description, fields),
//	              purposes, max_batch, require_jti
//	holder_codes  min/max/default_validity, max_active, default_level
//	datasets      min_k, min_l, max_term, max_suppression, purposes,
//	              forbidden_purposes, fields (field → role, hierarchy)
//
// Durations are Go durations or whole days ("15m", "1h", "30d"). A field
// left out of a field map is not disclosed. See default.json.
//
// The package speaks in the field names of DESIGN.md ("name", "id_number",
// "thesis_title", …) and plain string values, and imports nothing of the
// project: the gateway and the anonymizer map their records onto those
// names (see FieldSource).
//
// Some rules are not the policy's to relax, because the regulation fixes
// them; they are enforced in code whatever the file says:
//   - a thesis flagged classified never leaves (Art. 25): fields marked
//     NeverIfClassified are dropped by Decision.Apply unless the record's
//     thesis_classified value is exactly "false";
//   - the public audience never sees a direct identifier other than a
//     masked name, nor the birth date or thesis (Art. 22);
//   - agencies share only for a declared purpose (Art. 20);
//   - purposes forbidden for datasets (commercial use, Art. 24) are
//     accepted nowhere;
//   - datasets never carry direct identifiers (Art. 23);
//   - each scope can be granted only to the audiences it was made for, so
//     no policy can hand agency decisions to a holder or a contractor.
package policies
