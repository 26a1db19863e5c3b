package api

import (
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/scenicgate/scenicgate/enroll/service"
	"github.com/scenicgate/scenicgate/enroll/store"
)

const callerKey = "caller"

// authenticate requires "Authorization: Bearer <key>" with a valid key and
// records the key, with its scope, as the caller of whatever follows.
func (s *Server) authenticate(c *gin.Context) {
	h := c.GetHeader("Authorization")
	key, ok := strings.CutPrefix(h, "Bearer ")
	if !ok || key == "" {
		c.Header("WWW-Authenticate", `Bearer realm="scenicgate"`)
		abort(c, http.StatusUnauthorized, "unauthorized", "send Authorization: Bearer <API key>")
		return
	}
	k, err := s.keys.AuthenticateAPIKey(c.Request.Context(), strings.TrimSpace(key))
	if errors.Is(err, store.ErrBadAPIKey) {
		c.Header("WWW-Authenticate", `Bearer realm="scenicgate", error="invalid_token"`)
		abort(c, http.StatusUnauthorized, "unauthorized", "the API key is invalid or revoked")
		return
	}
	if err != nil {
		s.fail(c, err)
		return
	}
	c.Set(callerKey, service.KeyCaller(k))
	c.Next()
}

// caller is the authenticated caller; the zero Caller, which may do
// nothing, if authenticate did not run.
func caller(c *gin.Context) service.Caller {
	v, _ := c.Get(callerKey)
	k, _ := v.(service.Caller)
	return k
}

// CodeUnsupportedMediaType answers a body sent without a Content-Type the
// endpoint reads.
const CodeUnsupportedMediaType = "unsupported_media_type"

// requireJSON refuses, with 415, a request body that is not
// application/json (or, where multipart is true, multipart/form-data).
// Bodies are read by their declared type only: a JSON body sent as text or
// form data is a client error worth pointing out, not guessing around.
// Without bodyRequired a request with no body passes.
func requireJSON(multipart, bodyRequired bool) gin.HandlerFunc {
	want := "application/json"
	if multipart {
		want += " or multipart/form-data"
	}
	return func(c *gin.Context) {
		if !bodyRequired && c.Request.ContentLength == 0 && c.GetHeader("Content-Type") == "" {
			c.Next()
			return
		}
		mt, _, err := mime.ParseMediaType(c.GetHeader("Content-Type"))
		if err != nil || !(mt == "application/json" || multipart && mt == "multipart/form-data") {
			got := c.GetHeader("Content-Type")
			if got == "" {
				got = "none"
			}
			abort(c, http.StatusUnsupportedMediaType, CodeUnsupportedMediaType,
				fmt.Sprintf("send the body as %s (Content-Type: %s)", want, got))
			return
		}
		c.Next()
	}
}

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
