package gateway

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/degreegate/degreegate/gateway/token"
	"github.com/degreegate/degreegate/gateway/web"
	"github.com/degreegate/degreegate/registry"
	"github.com/degreegate/degreegate/translog"
)

// checkReceipt checks a receipt as `degreegate receipt verify` does, with
// this gateway's own keys and log: its signature against the published
// keys, then the leaf it names against the newest checkpoint.
func (s *Server) checkReceipt(ctx context.Context, jws string) (*web.ReceiptCheck, error) {
	r, err := token.ParseReceipt(jws, s.receiptKeys)
	if err != nil {
		return &web.ReceiptCheck{Why: err.Error()}, nil
	}
	out := &web.ReceiptCheck{Valid: true, KeyID: r.KeyID, ID: r.ID, IssuedAt: r.IssuedAt,
		Result: r.Result, Status: r.Status, PolicyVersion: r.PolicyVersion}
	if r.Log == nil {
		return out, nil
	}
	lc := &web.LogCheck{Origin: r.Log.Origin, LeafIndex: r.Log.LeafIndex}
	out.Log = lc
	if s.deps.Log == nil {
		lc.State = "receiptcheck.log.unavailable"
		return out, nil
	}
	if r.Log.Origin != s.deps.Log.Origin() {
		lc.State = "receiptcheck.log.other_log"
		return out, nil
	}
	leaf, err := base64.StdEncoding.DecodeString(r.Log.LeafHash)
	if err != nil || len(leaf) != tlog.HashSize {
		// Signed by us, so never: but a receipt is outside input.
		lc.State = "receiptcheck.log.absent"
		return out, nil
	}
	cp, _, err := s.deps.Log.Latest()
	if err == nil {
		var p registry.InclusionProof
		if p, err = s.deps.Log.ProveInclusion(ctx, r.Log.LeafIndex, cp.Size); err == nil {
			lc.TreeSize = cp.Size
			if p.LeafHash != tlog.Hash(leaf) || translog.CheckInclusion(cp, r.Log.LeafIndex, tlog.Hash(leaf), p.Proof) != nil {
				lc.State, lc.TreeSize = "receiptcheck.log.absent", 0
			} else {
				lc.State = "receiptcheck.log.included"
			}
			return out, nil
		}
	}
	switch {
	case errors.Is(err, registry.ErrNoCheckpoint), errors.Is(err, registry.ErrLogRange):
		lc.State = "receiptcheck.log.pending"
	default:
		return nil, fmt.Errorf("check a receipt: %w", err)
	}
	return out, nil
}
