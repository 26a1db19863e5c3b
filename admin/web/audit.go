package web

import (
	"net/http"
	"net/url"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/scenicgate/scenicgate/admin/service"
	"github.com/scenicgate/scenicgate/admin/store"
)

const auditPerPage = 100

type auditData struct {
	Filter     store.AuditFilter
	Actions    []string
	Entries    []store.AuditEntry
	Total      int
	Prev, Next string
}

func (s *Server) audit(c *gin.Context) {
	page, _ := strconv.Atoi(c.Query("page"))
	page = max(page, 1)
	f := store.AuditFilter{Actor: c.Query("actor"), Action: c.Query("action"), Target: c.Query("target"),
		Limit: auditPerPage, Offset: (page - 1) * auditPerPage}
	entries, total, err := s.svc.Audit(c.Request.Context(), f)
	if err != nil {
		s.fail(c, err)
		return
	}
	d := auditData{Filter: f, Actions: service.AuditActions(), Entries: entries, Total: total}
	link := func(p int) string {
		q := url.Values{"actor": {f.Actor}, "action": {f.Action}, "target": {f.Target}, "page": {strconv.Itoa(p)}}
		return "/audit?" + q.Encode()
	}
	if page > 1 {
		d.Prev = link(page - 1)
	}
	if page*auditPerPage < total {
		d.Next = link(page + 1)
	}
	s.render(c, http.StatusOK, "audit", s.newPage(c, "audit", "audit.title", d))
}
