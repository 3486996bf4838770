package gateway

import (
	"context"
	"encoding/base64"
	"errors"
	"strconv"

	"github.com/gofiber/fiber/v2"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/degreegate/degreegate/disclose"
	"github.com/degreegate/degreegate/registry"
	"github.com/degreegate/degreegate/translog"
)

// TransparencyLog answers the /v1/log routes: the newest signed
// checkpoint, and proofs against the trees checkpoints signed
// (registry.Checkpointer).
type TransparencyLog interface {
	// Origin is the log's name, which receipts carry.
	Origin() string
	Latest() (translog.Checkpoint, []byte, error)
	ProveInclusion(ctx context.Context, index, size int64) (registry.InclusionProof, error)
	ProveConsistency(ctx context.Context, old, size int64) (int64, tlog.TreeProof, error)
	// Stats counts checkpoints signed, and refused because the store's
	// tree did not extend the last one kept.
	Stats() (signed, failures int64)
}

// consistencyAnswer is an RFC 9162 consistency proof from the tree of
// First leaves to the tree of TreeSize.
type consistencyAnswer struct {
	First    int64    `json:"first"`
	TreeSize int64    `json:"tree_size"`
	Proof    []string `json:"consistency_path"`
}

func (s *Server) handleLogCheckpoint() fiber.Handler {
	return func(c *fiber.Ctx) error {
		if s.deps.Log == nil {
			return problemLogOff
		}
		_, note, err := s.deps.Log.Latest()
		if err != nil {
			return logProblem(err)
		}
		// A new checkpoint may be signed every second.
		c.Set(fiber.HeaderCacheControl, "no-cache")
		c.Set(fiber.HeaderContentType, "text/plain; charset=utf-8")
		return c.Send(note)
	}
}

func (s *Server) handleLogInclusion() fiber.Handler {
	return func(c *fiber.Ctx) error {
		if s.deps.Log == nil {
			return problemLogOff
		}
		if _, err := s.admitPublic(c); err != nil {
			return err
		}
		index, err := s.inclusionLeaf(c)
		if err != nil {
			return err
		}
		size, err := logParam(c, "tree_size", false)
		if err != nil {
			return err
		}
		p, err := s.deps.Log.ProveInclusion(c.UserContext(), index, size)
		if err != nil {
			return logProblem(err)
		}
		return c.JSON(disclose.NewLogProof(p))
	}
}

// inclusionLeaf is the leaf a proof is asked for: by index, or by the
// id of a receipt and the certificate number it is about — what a
// receipt's holder has on paper.
func (s *Server) inclusionLeaf(c *fiber.Ctx) (int64, error) {
	receipt := c.Query("receipt")
	if receipt == "" {
		return logParam(c, "index", true)
	}
	if c.Query("index") != "" {
		return 0, invalid(map[string]string{"index": "give a leaf index or a receipt, not both"})
	}
	leaf, err := s.disclose.ReceiptLeaf(c.UserContext(), receipt, c.Query("certificate_number"))
	if errors.Is(err, disclose.ErrReceiptNotFound) {
		return 0, problemReceiptNotFound
	}
	return leaf, disclosureProblem(err)
}

func (s *Server) handleLogConsistency() fiber.Handler {
	return func(c *fiber.Ctx) error {
		if s.deps.Log == nil {
			return problemLogOff
		}
		if _, err := s.admitPublic(c); err != nil {
			return err
		}
		first, err := logParam(c, "first", true)
		if err != nil {
			return err
		}
		size, err := logParam(c, "tree_size", false)
		if err != nil {
			return err
		}
		size, p, err := s.deps.Log.ProveConsistency(c.UserContext(), first, size)
		if err != nil {
			return logProblem(err)
		}
		return c.JSON(consistencyAnswer{First: first, TreeSize: size, Proof: b64s(p)})
	}
}

// logParam reads a query parameter that must be a plain decimal number
// ≥ 0 (or ≥ 1 for a size); 0 when it is absent and not required.
func logParam(c *fiber.Ctx, name string, required bool) (int64, error) {
	v := c.Query(name)
	if v == "" {
		if required {
			return 0, invalid(map[string]string{name: "required"})
		}
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 || v[0] == '+' || (len(v) > 1 && v[0] == '0') {
		return 0, invalid(map[string]string{name: "want a decimal number from 0 to 9223372036854775807"})
	}
	return n, nil
}

func logProblem(err error) error {
	switch {
	case errors.Is(err, registry.ErrNoCheckpoint):
		return problemNoCheckpoint
	case errors.Is(err, translog.ErrOutOfRange):
		return problemLogRange.with(err.Error())
	}
	return err
}

func b64s(hs []tlog.Hash) []string {
	out := make([]string, len(hs))
	for i, h := range hs {
		out[i] = base64.StdEncoding.EncodeToString(h[:])
	}
	return out
}
