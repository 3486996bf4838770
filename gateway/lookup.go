package gateway

import (
	"context"

	"github.com/degreegate/degreegate/registry"
)

// lookup finds a certificate's newest version for public verification:
// through Deps.Lookup (serve's read-through cache) when wired, counting
// cache hits and misses, else straight from the store.
func (s *Server) lookup(ctx context.Context, certificateNumber string) (registry.Version, error) {
	if s.deps.Lookup == nil {
		return s.deps.Registry.Store().Current(ctx, certificateNumber)
	}
	v, hit, err := s.deps.Lookup(ctx, certificateNumber)
	s.metrics.RecordCache("record", hit)
	return v, err
}
