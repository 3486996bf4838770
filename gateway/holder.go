package gateway

import (
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
	accessLogDefaultPage = 50
	accessLogMaxPage     = 200
)

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
