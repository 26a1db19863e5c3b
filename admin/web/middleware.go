package web

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/scenicgate/scenicgate/admin/i18n"
	"github.com/scenicgate/scenicgate/admin/service"
	"github.com/scenicgate/scenicgate/admin/store"
)

const (
	langKey    = "lang"
	sessionKey = "session"
)

// language picks the UI language: ?lang= (remembered in a cookie), then the
// cookie, then Simplified Chinese.
func (s *Server) language(c *gin.Context) {
	code := ""
	if q := c.Query("lang"); i18n.Supported(q) {
		code = q
		http.SetCookie(c.Writer, &http.Cookie{Name: langCookie, Value: q, Path: "/", MaxAge: 365 * 24 * 3600,
			HttpOnly: true, Secure: s.opts.SecureCookies, SameSite: http.SameSiteLaxMode})
	} else if ck, err := c.Cookie(langCookie); err == nil && i18n.Supported(ck) {
		code = ck
	}
	c.Set(langKey, i18n.Get(code))
	c.Next()
}

func lang(c *gin.Context) i18n.Lang {
	if l, ok := c.Get(langKey); ok {
		return l.(i18n.Lang)
	}
	return i18n.Get("")
}

// loadSession attaches the session of the request's cookie, if it is live.
func (s *Server) loadSession(c *gin.Context) {
	if id, err := c.Cookie(sessionCookie); err == nil && id != "" {
		ss, err := s.svc.Authenticate(c.Request.Context(), id)
		switch {
		case err == nil:
			c.Set(sessionKey, ss)
		case !errors.Is(err, service.ErrNoSession):
			s.log.Error("load session", "err", err)
		}
	}
	c.Next()
}

func session(c *gin.Context) (store.Session, bool) {
	v, ok := c.Get(sessionKey)
	if !ok {
		return store.Session{}, false
	}
	return v.(store.Session), true
}

// actor is the staff member behind the request.
func actor(c *gin.Context) service.Actor {
	ss, _ := session(c)
	return service.Actor{Name: ss.User.Name, Role: ss.User.Role, IP: c.ClientIP()}
}

// wantsJSON reports whether the request came from the script.
func wantsJSON(c *gin.Context) bool {
	return strings.Contains(c.GetHeader("Accept"), "application/json")
}

// requireLogin sends visitors without a session to the login page (pages)
// or answers 401 (scripts, event streams and POSTs).
func (s *Server) requireLogin(c *gin.Context) {
	if _, ok := session(c); ok {
		c.Next()
		return
	}
	if c.Request.Method == http.MethodGet && !wantsJSON(c) && c.FullPath() != "/events" {
		redirect(c, "/login?next="+url.QueryEscape(c.Request.URL.RequestURI()))
		return
	}
	s.fail(c, service.ErrNoSession)
}

// checkCSRF refuses a POST whose token (form field csrf or header
// X-CSRF-Token) is not the session's.
func (s *Server) checkCSRF(c *gin.Context) {
	if c.Request.Method != http.MethodPost {
		c.Next()
		return
	}
	ss, _ := session(c)
	token := c.GetHeader("X-CSRF-Token")
	if token == "" {
		token = c.PostForm("csrf")
	}
	if !service.TokensEqual(token, ss.CSRFToken) {
		s.log.Warn("POST without a valid CSRF token", "path", c.Request.URL.Path, "user", ss.User.Name, "ip", c.ClientIP())
		s.fail(c, errCSRF)
		return
	}
	c.Next()
}

// errCSRF: a POST came without the right token.
var errCSRF = errors.New("web: missing or wrong CSRF token")

// requireRole refuses staff whose role is below need, and audits the try.
func (s *Server) requireRole(need store.Role) gin.HandlerFunc {
	return func(c *gin.Context) {
		a := actor(c)
		if !a.Role.Allows(need) {
			s.svc.Denied(c.Request.Context(), a, c.Request.Method+" "+c.Request.URL.Path)
			s.fail(c, service.ErrForbidden)
			return
		}
		c.Next()
	}
}

// setSessionCookie hands the browser its session id. The cookie lasts
// until the browser closes; the server decides when the session expires.
func (s *Server) setSessionCookie(c *gin.Context, id string) {
	http.SetCookie(c.Writer, &http.Cookie{Name: sessionCookie, Value: id, Path: "/",
		HttpOnly: true, Secure: s.opts.SecureCookies, SameSite: http.SameSiteLaxMode})
}

func (s *Server) clearCookie(c *gin.Context, name, path string) {
	http.SetCookie(c.Writer, &http.Cookie{Name: name, Value: "", Path: path, MaxAge: -1,
		HttpOnly: true, Secure: s.opts.SecureCookies, SameSite: http.SameSiteLaxMode})
}
