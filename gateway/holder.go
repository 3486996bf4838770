package gateway

import (
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/degreegate/degreegate/disclose"
	"github.com/degreegate/degreegate/policies"
	"github.com/degreegate/degreegate/registry"
)

// Holder self-service (Art. 22): a holder reads their own records, shares
// a fuller report of one certificate through a time-limited code, withdraws
// codes, and reads who looked at their records. Anyone holding a code sees
// the report at the level the holder chose (GET /v1/verify/{code}).
//
// This file holds what the holder routes share and GET /v1/holder/degrees;
// share codes are in sharecodes.go, the access log in accesslog.go.

const (
	// Audit vocabulary of this area's own actions; disclosures are
	// named by package disclose (ActionHolderRead, ActionCodeView …).
	actionCodeIssue      = "holder.code.issue"
	actionCodeWithdraw   = "holder.code.withdraw"
	accessLogDefaultPage = 50
	accessLogMaxPage     = 200
)

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
	t := registry.IDType(p.IDType)
	return holderCaller{
		actor: s.disclose.HolderActor(p.Issuer, p.Subject), org: p.Org, idType: t, idNum: p.IDNumber,
		// Normalised as Registry.ByPerson does, so the owner index of a
		// code is the index the holder's records are found by.
		owner: s.deps.Registry.PersonIndex(t, p.IDNumber),
	}, nil
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
		p := principal(c)
		degrees, err := s.disclose.HolderDegrees(c.UserContext(), s.principalFor(c, ""),
			disclose.Holder{IDType: registry.IDType(p.IDType), IDNumber: p.IDNumber})
		if err != nil {
			return disclosureProblem(err)
		}
		now := s.deps.Now()
		out := holderDegrees{Degrees: make([]holderDegree, 0, len(degrees.Degrees)), PolicyVersion: degrees.PolicyVersion}
		for _, d := range degrees.Degrees {
			hd := holderDegree{CertificateNumber: d.CertificateNumber, Status: d.Status, Version: d.Version, Degree: d.Degree, Codes: []codeSummary{}}
			for _, sc := range d.Codes {
				hd.Codes = append(hd.Codes, summariseCode(sc, now))
			}
			out.Degrees = append(out.Degrees, hd)
		}
		c.Set(fiber.HeaderCacheControl, "no-store")
		return c.JSON(out)
	}
}

// holderEntry is an audit entry of a holder's own action.
func (s *Server) holderEntry(h holderCaller, at time.Time, action, ref string, d policies.Decision, detail map[string]any) registry.AuditEntry {
	return disclose.HolderEntry(disclose.Principal{Actor: h.actor, Org: h.org}, d, at, action, ref, detail)
}
