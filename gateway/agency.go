package gateway

// agencyRoutes registers this area's routes (being built).
func (s *Server) agencyRoutes() {}
