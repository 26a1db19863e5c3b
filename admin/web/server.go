// Package web is admin's staff UI: server-rendered pages (html/template),
// a stylesheet and a small script, all embedded in the binary, plus the
// server-sent event stream of the live dashboard and the CSV export.
//
// Handlers only decode the request, call one service operation and render;
// the rules live in package service. Every POST carries a CSRF token (form
// field "csrf" or header X-CSRF-Token), and the routes that change
// something check the staff member's role before the service checks it
// again.
package web

import (
	"embed"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/scenicgate/scenicgate/admin/live"
	"github.com/scenicgate/scenicgate/admin/service"
	"github.com/scenicgate/scenicgate/admin/store"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Cookie names.
const (
	sessionCookie   = "sg_session"
	loginCSRFCookie = "sg_login_csrf"
	langCookie      = "sg_lang"
)

// Options tune a Server. The zero value suits plain HTTP on loopback.
type Options struct {
	// SecureCookies says that browsers reach admin over HTTPS, whether admin
	// serves TLS itself or a TLS proxy stands in front of it. Cookies are
	// then marked Secure, so a browser never sends them over plain HTTP,
	// and every answer carries Strict-Transport-Security, so a browser that
	// has seen the site once keeps to HTTPS. Browsers ignore that header on
	// plain HTTP, so sending it behind a proxy that terminates TLS is right.
	SecureCookies bool
	// SessionCheck is how often an open event stream checks that its
	// session is still valid (not logged out, expired or disabled); 0 means
	// DefaultSessionCheck.
	SessionCheck time.Duration
}

// DefaultSessionCheck is how often an event stream rechecks its session
// unless Options say otherwise.
const DefaultSessionCheck = 5 * time.Second

// hsts is the Strict-Transport-Security value: one year, for admin's own
// host only, since other hosts of the site's domain may not speak HTTPS.
const hsts = "max-age=31536000"

// Server serves the UI. Create it with New; it is safe for concurrent use.
type Server struct {
	svc   *service.Service
	hub   *live.Hub
	log   *slog.Logger
	opts  Options
	pages map[string]*template.Template

	done     chan struct{} // closed by Shutdown: ends event streams
	doneOnce sync.Once
}

// New parses the templates (panicking on a broken one, so it fails at
// start) and returns the server.
func New(svc *service.Service, hub *live.Hub, log *slog.Logger, opts Options) *Server {
	if opts.SessionCheck <= 0 {
		opts.SessionCheck = DefaultSessionCheck
	}
	s := &Server{svc: svc, hub: hub, log: log, opts: opts, done: make(chan struct{})}
	s.pages = parsePages(s.funcs())
	return s
}

// Shutdown ends the open event streams, so the HTTP server's own Shutdown
// does not wait for them. Safe to call twice.
func (s *Server) Shutdown() { s.doneOnce.Do(func() { close(s.done) }) }

// Handler returns the routes.
func (s *Server) Handler() http.Handler {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.SetTrustedProxies(nil) // the client address is the peer's, never a header's
	r.Use(s.recover, s.securityHeaders, s.language, s.loadSession)
	r.NoRoute(func(c *gin.Context) { s.fail(c, store.ErrNotFound) })

	static, _ := fs.Sub(staticFS, "static")
	r.GET("/static/*filepath", func(c *gin.Context) {
		c.Header("Cache-Control", "public, max-age=3600")
		c.FileFromFS(c.Param("filepath"), http.FS(static))
	})
	r.GET("/healthz", func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"status": "ok"}) })
	r.GET("/login", s.loginPage)
	r.POST("/login", s.login)

	auth := r.Group("/", s.requireLogin, s.checkCSRF)
	auth.POST("/logout", s.logout)
	auth.GET("/", s.dashboard)
	auth.GET("/events", s.events)
	auth.GET("/tickets", s.tickets)
	auth.GET("/tickets/:id", s.ticket)
	auth.GET("/gates", s.gates)
	auth.GET("/gates/rows", s.gateRows)
	auth.GET("/conflicts", s.conflicts)
	auth.GET("/audit", s.audit)
	auth.GET("/export", s.exportPage)
	auth.GET("/export/admissions.csv", s.exportCSV)
	auth.GET("/settings", s.settingsPage)

	op := auth.Group("/", s.requireRole(store.Operator))
	op.POST("/tickets/:id/revoke", s.revoke)
	op.POST("/tickets/:id/erase", s.erase)
	op.POST("/tickets/:id/presence/clear", s.clearPresence)
	op.POST("/gates/command", s.command)
	op.POST("/conflicts/:id/resolve", s.resolve)

	adm := auth.Group("/", s.requireRole(store.Admin))
	adm.POST("/settings", s.saveSettings)
	adm.GET("/users", s.users)
	adm.POST("/users", s.addUser)
	adm.POST("/users/:name/disable", s.disableUser)
	adm.POST("/users/:name/enable", s.enableUser)
	return r
}

func (s *Server) securityHeaders(c *gin.Context) {
	h := c.Writer.Header()
	if s.opts.SecureCookies {
		h.Set("Strict-Transport-Security", hsts)
	}
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Content-Security-Policy",
		"default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
	c.Next()
}

func (s *Server) recover(c *gin.Context) {
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("handler panic", "path", c.Request.URL.Path, "panic", r)
			c.AbortWithStatus(http.StatusInternalServerError)
		}
	}()
	c.Next()
}

// redirect answers a POST with 303 See Other, so reloading the next page
// does not send the form again.
func redirect(c *gin.Context, to string) {
	c.Redirect(http.StatusSeeOther, to)
	c.Abort()
}
