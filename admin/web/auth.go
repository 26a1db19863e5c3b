package web

import (
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/scenicgate/scenicgate/admin/service"
)

type loginData struct {
	Error string
	Name  string
	Next  string
}

// loginPage shows the login form with a fresh token in a cookie; the form
// must send the same token back (there is no session yet to hold it).
func (s *Server) loginPage(c *gin.Context) {
	if _, ok := session(c); ok {
		redirect(c, safeNext(c.Query("next")))
		return
	}
	s.renderLogin(c, http.StatusOK, loginData{Next: safeNext(c.Query("next"))})
}

func (s *Server) renderLogin(c *gin.Context, status int, d loginData) {
	token, err := c.Cookie(loginCSRFCookie)
	if err != nil || len(token) < 32 {
		token = service.NewToken()
		http.SetCookie(c.Writer, &http.Cookie{Name: loginCSRFCookie, Value: token, Path: "/login", MaxAge: 3600,
			HttpOnly: true, Secure: s.opts.SecureCookies, SameSite: http.SameSiteStrictMode})
	}
	p := s.newPage(c, "login", "login.title", d)
	p.CSRF = token
	s.render(c, status, "login", p)
}

func (s *Server) login(c *gin.Context) {
	cookie, _ := c.Cookie(loginCSRFCookie)
	if !service.TokensEqual(c.PostForm("csrf"), cookie) {
		s.fail(c, errCSRF)
		return
	}
	name, next := c.PostForm("name"), safeNext(c.PostForm("next"))
	id, _, err := s.svc.Login(c.Request.Context(), name, c.PostForm("password"), c.ClientIP())
	if err != nil {
		p, known := problemOf(err)
		if !known {
			s.fail(c, err)
			return
		}
		msg := lang(c).T(p.key)
		if errors.Is(err, service.ErrLocked) {
			msg = lang(c).T("login.locked_for", int(s.svc.Config().LockFor.Minutes()))
		}
		s.renderLogin(c, p.status, loginData{Error: msg, Name: name, Next: next})
		return
	}
	s.setSessionCookie(c, id)
	s.clearCookie(c, loginCSRFCookie, "/login")
	redirect(c, next)
}

func (s *Server) logout(c *gin.Context) {
	ss, _ := session(c)
	if err := s.svc.Logout(c.Request.Context(), actor(c), ss); err != nil {
		s.fail(c, err)
		return
	}
	s.clearCookie(c, sessionCookie, "/")
	redirect(c, "/login")
}
