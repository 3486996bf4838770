package gateway

// datasetRoutes registers this area's routes (being built).
func (s *Server) datasetRoutes() {}
