package web

import (
	"bytes"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/scenicgate/scenicgate/admin/i18n"
	"github.com/scenicgate/scenicgate/admin/store"
	"github.com/scenicgate/scenicgate/internal/site"
)

// pageNames are the page templates; each is parsed together with the
// layout into its own set.
var pageNames = []string{"login", "dashboard", "tickets", "ticket", "gates", "conflicts", "audit", "export", "settings", "users", "error"}

func parsePages(funcs template.FuncMap) map[string]*template.Template {
	pages := map[string]*template.Template{}
	for _, name := range pageNames {
		pages[name] = template.Must(template.New(name).Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html"))
	}
	return pages
}

func (s *Server) funcs() template.FuncMap {
	return template.FuncMap{
		"gauge": gaugeView,
		"row": func(l i18n.Lang, loc *time.Location, a store.Admission) FeedRow {
			return feedRow(l, loc, a, s.svc.Now())
		},
		"ts":   stamp,
		"join": strings.Join,
		"secs": func(d time.Duration) int { return int(d.Round(time.Second).Seconds()) },
		"percent": func(r float64) int {
			return int(r*100 + 0.5)
		},
		"minutes": func(d site.Duration) int { return int(time.Duration(d).Minutes()) },
	}
}

// stamp formats a time (time.Time, *time.Time or Unix milliseconds) in the
// site's zone; zero and nil give "—".
func stamp(loc *time.Location, v any) string {
	var t time.Time
	switch x := v.(type) {
	case time.Time:
		t = x
	case *time.Time:
		if x != nil {
			t = *x
		}
	case int64: // Unix milliseconds, as wire messages carry times
		if x != 0 {
			t = time.UnixMilli(x)
		}
	}
	if t.IsZero() {
		return "—"
	}
	return t.In(loc).Format("2006-01-02 15:04:05")
}

type flash struct {
	Kind string // "ok" or "err"
	Text string
}

// page is what every template gets.
type page struct {
	L             i18n.Lang
	Title         string
	Nav           string
	User          *store.User
	CSRF          string
	Flash         *flash
	OpenConflicts int
	LangSwitch    string
	Loc           *time.Location
	Now           string
	IsAdmin       bool
	CanOperate    bool
	Data          any
}

// newPage fills the parts of a page every handler needs; it takes the
// session's flash message, if any.
func (s *Server) newPage(c *gin.Context, nav, titleKey string, data any) page {
	l := lang(c)
	loc := s.svc.Location()
	p := page{L: l, Title: l.T(titleKey), Nav: nav, Data: data, Loc: loc, LangSwitch: langSwitch(c, l),
		Now: s.svc.Now().In(loc).Format("2006-01-02 15:04")}
	if ss, ok := session(c); ok {
		u := ss.User
		p.User, p.CSRF = &u, ss.CSRFToken
		p.IsAdmin, p.CanOperate = u.Role.Allows(store.Admin), u.Role.Allows(store.Operator)
		if msg, err := s.svc.TakeFlash(c.Request.Context(), ss); err == nil && msg != "" {
			kind, text, _ := strings.Cut(msg, "\x00")
			p.Flash = &flash{Kind: kind, Text: text}
		}
		p.OpenConflicts, _ = s.svc.OpenConflicts(c.Request.Context())
	}
	return p
}

// langSwitch links to the current page in the other language.
func langSwitch(c *gin.Context, l i18n.Lang) string {
	q := c.Request.URL.Query()
	q.Set("lang", l.Other())
	return c.Request.URL.Path + "?" + q.Encode()
}

// render executes a page into a buffer first, so a template error still
// becomes a clean 500.
func (s *Server) render(c *gin.Context, status int, name string, p page) {
	var buf bytes.Buffer
	if err := s.pages[name].ExecuteTemplate(&buf, "layout", p); err != nil {
		s.log.Error("render page", "page", name, "err", err)
		c.AbortWithStatus(http.StatusInternalServerError)
		return
	}
	c.Header("Cache-Control", "no-store")
	c.Data(status, "text/html; charset=utf-8", buf.Bytes())
}

// renderFragment executes one named template of a page set, for parts the
// script reloads.
func (s *Server) renderFragment(c *gin.Context, name, tmpl string, p page) {
	var buf bytes.Buffer
	if err := s.pages[name].ExecuteTemplate(&buf, tmpl, p); err != nil {
		s.log.Error("render fragment", "page", name, "template", tmpl, "err", err)
		c.AbortWithStatus(http.StatusInternalServerError)
		return
	}
	c.Header("Cache-Control", "no-store")
	c.Data(http.StatusOK, "text/html; charset=utf-8", buf.Bytes())
}

// setFlash keeps a message for the next page of the session.
func (s *Server) setFlash(c *gin.Context, kind, text string) {
	if ss, ok := session(c); ok {
		if err := s.svc.Flash(c.Request.Context(), ss, kind+"\x00"+text); err != nil {
			s.log.Warn("flash lost", "err", err)
		}
	}
}

// safeNext accepts only local paths as a place to go after login.
func safeNext(next string) string {
	u, err := url.Parse(next)
	if next == "" || err != nil || u.IsAbs() || u.Host != "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return "/"
	}
	return next
}
