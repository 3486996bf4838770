package gateway

// webRoutes registers this area's routes (being built).
func (s *Server) webRoutes() {}
