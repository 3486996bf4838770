package gateway

// holderRoutes registers this area's routes (being built).
func (s *Server) holderRoutes() {}
