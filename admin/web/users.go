package web

import (
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/scenicgate/scenicgate/admin/store"
)

type usersData struct {
	Users []store.User
	Roles []store.Role
	Now   time.Time
}

func (s *Server) users(c *gin.Context) {
	list, err := s.svc.Users(c.Request.Context())
	if err != nil {
		s.fail(c, err)
		return
	}
	s.render(c, http.StatusOK, "users", s.newPage(c, "users", "users.title", usersData{Users: list, Roles: store.Roles(), Now: s.svc.Now()}))
}

func (s *Server) addUser(c *gin.Context) {
	name := strings.TrimSpace(c.PostForm("name"))
	_, err := s.svc.CreateUser(c.Request.Context(), actor(c), name, store.Role(c.PostForm("role")), c.PostForm("password"))
	s.afterAction(c, err, lang(c).T("users.added", name), "/users")
}

func (s *Server) disableUser(c *gin.Context) {
	err := s.svc.SetUserDisabled(c.Request.Context(), actor(c), c.Param("name"), true)
	s.afterAction(c, err, lang(c).T("users.disabled_ok", c.Param("name")), "/users")
}

func (s *Server) enableUser(c *gin.Context) {
	err := s.svc.SetUserDisabled(c.Request.Context(), actor(c), c.Param("name"), false)
	s.afterAction(c, err, lang(c).T("users.enabled_ok", c.Param("name")), "/users")
}
