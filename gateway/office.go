package gateway

// officeRoutes registers this area's routes (being built).
func (s *Server) officeRoutes() {}
