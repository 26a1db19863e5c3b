package api

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/scenicgate/scenicgate/enroll/store"
)

const actorKey = "actor"

// authenticate requires "Authorization: Bearer <key>" with a valid key and
// records "apikey:<name>" as the actor of whatever follows.
func (s *Server) authenticate(c *gin.Context) {
	h := c.GetHeader("Authorization")
	key, ok := strings.CutPrefix(h, "Bearer ")
	if !ok || key == "" {
		c.Header("WWW-Authenticate", `Bearer realm="scenicgate"`)
		abort(c, http.StatusUnauthorized, "unauthorized", "send Authorization: Bearer <API key>")
		return
	}
	name, err := s.keys.AuthenticateAPIKey(c.Request.Context(), strings.TrimSpace(key))
	if errors.Is(err, store.ErrBadAPIKey) {
		c.Header("WWW-Authenticate", `Bearer realm="scenicgate", error="invalid_token"`)
		abort(c, http.StatusUnauthorized, "unauthorized", "the API key is invalid or revoked")
		return
	}
	if err != nil {
		s.fail(c, err)
		return
	}
	c.Set(actorKey, "apikey:"+name)
	c.Next()
}

func actor(c *gin.Context) string { return c.GetString(actorKey) }

// limitBody refuses bodies over the limit: at once when Content-Length says
// so, and while reading otherwise.
func (s *Server) limitBody(c *gin.Context) {
	if c.Request.ContentLength > s.maxBody {
		abort(c, http.StatusRequestEntityTooLarge, "payload_too_large",
			"the request body exceeds the limit of "+strconv.FormatInt(s.maxBody, 10)+" bytes")
		return
	}
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, s.maxBody)
	c.Next()
}

func (s *Server) recover(c *gin.Context) {
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("handler panic", "path", c.Request.URL.Path, "panic", r)
			abort(c, http.StatusInternalServerError, "internal", "internal error; see the enroll log")
		}
	}()
	c.Next()
}

type metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newMetrics(reg *prometheus.Registry) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "scenicgate_enroll_requests_total", Help: "HTTP requests by route and status.",
		}, []string{"method", "route", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "scenicgate_enroll_request_seconds", Help: "HTTP request latency by route.",
			Buckets: []float64{0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10},
		}, []string{"method", "route"}),
	}
	reg.MustRegister(m.requests, m.duration)
	return m
}

func (s *Server) observe(c *gin.Context) {
	start := time.Now()
	c.Next()
	route := c.FullPath()
	if route == "" {
		route = "unmatched"
	}
	s.metrics.requests.WithLabelValues(c.Request.Method, route, strconv.Itoa(c.Writer.Status())).Inc()
	s.metrics.duration.WithLabelValues(c.Request.Method, route).Observe(time.Since(start).Seconds())
}
