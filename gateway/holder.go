package gateway

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/degreegate/degreegate/gateway/ratelimit"
	"github.com/degreegate/degreegate/gateway/token"
	"github.com/degreegate/degreegate/policies"
	"github.com/degreegate/degreegate/registry"
	"github.com/degreegate/degreegate/registry/recordfile"
)

// Holder self-service (Art. 22): a holder reads their own records, shares
// a fuller report of one certificate through a time-limited code, withdraws
// codes, and reads who looked at their records. Anyone holding a code sees
// the report at the level the holder chose (GET /v1/verify/{code}).
//
// This file holds what the holder routes share and GET /v1/holder/degrees;
// share codes are in sharecodes.go, the access log in accesslog.go.

const (
	// Audit vocabulary of this area; the access log reads these, and
	// verify.public / verify.agency written by the other areas.
	actionHolderRead     = "holder.read"
	actionHolderLog      = "holder.access_log"
	actionCodeIssue      = "holder.code.issue"
	actionCodeWithdraw   = "holder.code.withdraw"
	actionCodeView       = "code.view"
	actionPublicVerify   = "verify.public"
	actionAgencyVerify   = "verify.agency"
	purposeSharedReport  = "holder_shared_report"
	purposeHolderSelf    = "holder_self_service"
	accessLogDefaultPage = 50
	accessLogMaxPage     = 200
)

// The stable problems of this area.
var (
	problemCodeNotFound = &Problem{Type: "/problems/code-not-found", Title: "No such code", Status: fiber.StatusNotFound,
		Detail: "check the code as the holder gave it; letters are case-insensitive"}
	problemCodeExpired = &Problem{Type: "/problems/code-expired", Title: "This code has expired", Status: fiber.StatusGone,
		Detail: "ask the holder for a new code"}
	problemCodeWithdrawn = &Problem{Type: "/problems/code-withdrawn", Title: "The holder withdrew this code", Status: fiber.StatusGone}
	problemCodesDown     = &Problem{Type: "/problems/codes-unavailable", Title: "Share codes are not available", Status: fiber.StatusServiceUnavailable}
	problemSearchDown    = &Problem{Type: "/problems/access-log-unavailable", Title: "The access log is not available", Status: fiber.StatusServiceUnavailable}
	problemNotYourCert   = &Problem{Type: "/problems/certificate-not-found", Title: "None of your degrees has this certificate number", Status: fiber.StatusNotFound}
	problemTooManyCodes  = &Problem{Type: "/problems/too-many-codes", Title: "You have as many unexpired codes as the policy allows", Status: fiber.StatusConflict}
)

// holderRoutes registers holder self-service and the shared-report view.
// Holder routes pass the holder token check, then the holder limits (per
// address, per token subject).
func (s *Server) holderRoutes() {
	auth, lim := s.authenticate(token.AudienceHolder), s.holderLimits()
	s.app.Get("/v1/holder/degrees", auth, lim, s.handleHolderDegrees())
	s.app.Post("/v1/holder/codes", auth, lim, s.handleIssueCode())
	s.app.Delete("/v1/holder/codes/:code", auth, lim, s.handleWithdrawCode())
	s.app.Get("/v1/holder/access-log", auth, lim, s.handleAccessLog())
	s.app.Get("/v1/verify/:code", s.handleSharedReport())
}

// holderLimits applies the holder audience's limits; the rules are fixed
// by the policy and taken once here.
func (s *Server) holderLimits() fiber.Handler {
	l := s.deps.Policy.Limits(policies.Holder)
	perAddr, hasAddr := rule("holder.address", l.PerClient)
	perSub, hasSub := rule("holder.subject", l.PerSubject)
	return func(c *fiber.Ctx) error {
		checks := make([]limitCheck, 0, 2)
		if hasAddr {
			checks = append(checks, limitCheck{perAddr, ratelimit.AddrKey(s.clientAddr(c))})
		}
		if hasSub {
			checks = append(checks, limitCheck{perSub, ratelimit.NameKey(s.holderActor(principal(c)))})
		}
		if err := s.limit(c, checks); err != nil {
			return err
		}
		return c.Next()
	}
}

// holder is the verified holder of a request: who they are in the trail,
// and the blind index that finds their records and codes.
type holderCaller struct {
	actor  string // "holder:" + keyed hash of issuer and subject
	org    string
	idType registry.IDType
	idNum  string
	owner  []byte // Keyring.PersonIndex of the normalised identity
}

// holderOf reads the holder from the token. The identity claims are
// personal data: they go to the registry and the keyring, nowhere else.
func (s *Server) holderOf(c *fiber.Ctx) (holderCaller, error) {
	p := principal(c)
	if p.IDType == "" || p.IDNumber == "" {
		return holderCaller{}, problemInvalidToken.with("missing_claim")
	}
	// The same normalisation Registry.ByPerson applies, so the owner
	// index of a code is the index the holder's records are found by.
	probe := registry.Record{IDType: registry.IDType(p.IDType), IDNumber: p.IDNumber}
	registry.Normalize(&probe)
	return holderCaller{
		actor: s.holderActor(p), org: p.Org, idType: probe.IDType, idNum: probe.IDNumber,
		owner: s.deps.Registry.Keys().PersonIndex(probe.IDType, probe.IDNumber),
	}, nil
}

// holderActor is how a holder appears in the trail and in limiter keys: a
// keyed hash of the token's issuer and subject, since a real-name
// provider's subject may itself identify the person.
func (s *Server) holderActor(p token.Principal) string {
	m := hmac.New(sha256.New, s.deps.AddressKey)
	m.Write([]byte("holder\x00"))
	m.Write([]byte(p.Issuer))
	m.Write([]byte{0})
	m.Write([]byte(p.Subject))
	return "holder:" + b32.EncodeToString(m.Sum(nil)[:10])
}

type holderDegree struct {
	CertificateNumber string              `json:"certificate_number"`
	Status            string              `json:"status"`
	Version           int                 `json:"version"`
	Degree            policies.Disclosure `json:"degree"`
	// Codes lists the holder's codes for this certificate, without the
	// codes themselves (only their ids), newest first.
	Codes []codeSummary `json:"codes"`
}

type holderDegrees struct {
	Degrees       []holderDegree `json:"degrees"`
	PolicyVersion string         `json:"policy_version"`
}

func (s *Server) handleHolderDegrees() fiber.Handler {
	return func(c *fiber.Ctx) error {
		d, err := s.decide(c, policies.ScopeHolderRead, "", "")
		if err != nil {
			return err
		}
		h, err := s.holderOf(c)
		if err != nil {
			return err
		}
		ctx := c.UserContext()
		entries, err := s.deps.Registry.ByPerson(ctx, h.idType, h.idNum)
		if err != nil && !errors.Is(err, registry.ErrNotFound) {
			return fmt.Errorf("holder degrees: lookup: %w", err)
		}
		var codes []registry.ShareCode
		if s.deps.Codes != nil {
			if codes, err = s.deps.Codes.ShareCodesOf(ctx, h.owner); err != nil {
				return fmt.Errorf("holder degrees: codes: %w", err)
			}
		}
		now := s.deps.Now()
		out := holderDegrees{Degrees: make([]holderDegree, 0, len(entries)), PolicyVersion: d.PolicyVersion}
		audit := make([]registry.AuditEntry, 0, max(1, len(entries)))
		for _, e := range entries {
			rec := e.Record
			shown, err := d.Apply(func(name string) (string, bool) { return recordfile.Value(&rec, name) }, policies.ApplyOptions{})
			if err != nil {
				return fmt.Errorf("holder degrees: apply policy: %w", err)
			}
			status, _ := holderStatus(rec.Status)
			hd := holderDegree{CertificateNumber: rec.CertificateNumber, Status: status, Version: e.Version, Degree: shown, Codes: []codeSummary{}}
			for _, sc := range codes {
				if sc.CertificateNumber == rec.CertificateNumber {
					hd.Codes = append(hd.Codes, summariseCode(sc, now))
				}
			}
			out.Degrees = append(out.Degrees, hd)
			audit = append(audit, s.holderEntry(h, now, actionHolderRead, rec.CertificateNumber, d,
				map[string]any{"fields": shown.Fields()}))
		}
		if len(entries) == 0 {
			// The look-up itself is an access worth recording.
			audit = append(audit, s.holderEntry(h, now, actionHolderRead, "", d, map[string]any{"records": 0}))
		}
		for _, a := range audit {
			if err := s.deps.Audit.Record(a); err != nil {
				return problemAuditDown
			}
		}
		c.Set(fiber.HeaderCacheControl, "no-store")
		return c.JSON(out)
	}
}

// holderEntry is an audit entry of a holder's own action: who (keyed hash
// and organisation), what, the legal basis and policy version.
func (s *Server) holderEntry(h holderCaller, at time.Time, action, ref string, d policies.Decision, detail map[string]any) registry.AuditEntry {
	detail["org"] = h.org
	detail["legal_basis"] = d.LegalBasis
	detail["policy_version"] = d.PolicyVersion
	return registry.AuditEntry{At: at, Actor: h.actor, Action: action, RecordRef: ref, Purpose: purposeHolderSelf, Detail: holderAuditDetail(detail)}
}

// holderStatus is a record's status as verification shows it; ok is false
// for a status that is neither filed nor revoked.
func holderStatus(st registry.Status) (string, bool) {
	switch st {
	case registry.StatusFiled:
		return "valid", true
	case registry.StatusRevoked:
		return "revoked", true
	}
	return string(st), false
}

// holderAuditDetail marshals an audit detail; its values are never personal
// data (field names, levels, ids, hashes, counts).
func holderAuditDetail(m map[string]any) string {
	b, err := json.Marshal(m)
	if err != nil {
		return `{"detail":"unencodable"}`
	}
	return string(b)
}
