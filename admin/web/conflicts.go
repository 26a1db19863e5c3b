package web

import (
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/scenicgate/scenicgate/admin/service"
	"github.com/scenicgate/scenicgate/admin/store"
)

type conflictsData struct {
	Open      bool
	Conflicts []service.ConflictView
}

func (s *Server) conflicts(c *gin.Context) {
	open := c.Query("state") != "resolved"
	list, err := s.svc.Conflicts(c.Request.Context(), open)
	if err != nil {
		s.fail(c, err)
		return
	}
	s.render(c, http.StatusOK, "conflicts", s.newPage(c, "conflicts", "conflicts.title", conflictsData{Open: open, Conflicts: list}))
}

func (s *Server) resolve(c *gin.Context) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		s.fail(c, store.ErrNotFound)
		return
	}
	err = s.svc.ResolveConflict(c.Request.Context(), actor(c), id, c.PostForm("note"))
	s.afterAction(c, err, lang(c).T("conflicts.resolved_ok"), "/conflicts")
}
