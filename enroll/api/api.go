// Package api is enroll's REST API under /api/v1. Handlers only decode the
// request, call the service and encode the answer; every refusal is JSON
// {"error":{"code":"…","message":"…"}} with a fitting HTTP status.
package api

import (
	"context"
	_ "embed"
	"log/slog"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/scenicgate/scenicgate/enroll/service"
	"github.com/scenicgate/scenicgate/enroll/store"
)

// OpenAPI is the API's OpenAPI 3 description, served at /api/v1/openapi.yaml.
//
//go:embed openapi.yaml
var OpenAPI []byte

// DefaultMaxBody is the default limit of a request body: 10 MB.
const DefaultMaxBody = 10 << 20

// Health reports whether enroll can serve: the database answers and the
// outbox is not stuck. It is nil-safe to leave unset.
type Health func(ctx context.Context) (map[string]any, error)

// Server is the HTTP side of enroll.
type Server struct {
	svc     *service.Service
	keys    *store.Store
	log     *slog.Logger
	maxBody int64
	health  Health
	reg     *prometheus.Registry
	metrics *metrics
}

// New returns the API over svc; API keys are checked against keys. maxBody
// <= 0 means DefaultMaxBody. reg receives the API's metrics and is served at
// /metrics with whatever else the program registers there.
func New(svc *service.Service, keys *store.Store, log *slog.Logger, maxBody int64, health Health, reg *prometheus.Registry) *Server {
	if maxBody <= 0 {
		maxBody = DefaultMaxBody
	}
	return &Server{svc: svc, keys: keys, log: log, maxBody: maxBody, health: health, reg: reg, metrics: newMetrics(reg)}
}

// Handler returns the routes.
func (s *Server) Handler() http.Handler {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.Use(s.recover, s.observe)
	r.NoRoute(func(c *gin.Context) { abort(c, http.StatusNotFound, "not_found", "no such endpoint") })
	r.NoMethod(func(c *gin.Context) {
		abort(c, http.StatusMethodNotAllowed, "method_not_allowed", "method not allowed here")
	})
	r.HandleMethodNotAllowed = true

	r.GET("/healthz", s.healthz)
	r.GET("/metrics", gin.WrapH(promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{})))
	r.GET("/api/v1/openapi.yaml", func(c *gin.Context) { c.Data(http.StatusOK, "application/yaml", OpenAPI) })

	v1 := r.Group("/api/v1", s.limitBody, s.authenticate)
	jsonOrMultipart, jsonOnly, jsonIfAny := requireJSON(true, true), requireJSON(false, true), requireJSON(false, false)
	v1.POST("/tickets", jsonOrMultipart, s.createTickets)
	v1.GET("/tickets", s.listTickets)
	v1.GET("/tickets/:id", s.getTicket)
	v1.POST("/tickets/:id/faces", jsonOrMultipart, s.addFaces)
	v1.POST("/tickets/:id/revoke", jsonOnly, s.revoke)
	v1.POST("/tickets/:id/qr", jsonIfAny, s.reissueQR)
	v1.DELETE("/tickets/:id/biometrics", s.eraseBiometrics)
	v1.GET("/tickets/:id/audit", s.ticketAudit)
	return r
}

func (s *Server) healthz(c *gin.Context) {
	if s.health == nil {
		c.JSON(http.StatusOK, gin.H{"status": "ok"})
		return
	}
	ctx, cancel := context.WithTimeout(c.Request.Context(), 3*time.Second)
	defer cancel()
	detail, err := s.health(ctx)
	if detail == nil {
		detail = map[string]any{}
	}
	if err != nil {
		detail["status"] = "unhealthy"
		detail["error"] = err.Error()
		c.JSON(http.StatusServiceUnavailable, detail)
		return
	}
	detail["status"] = "ok"
	c.JSON(http.StatusOK, detail)
}
