package web

import (
	"net/http"
	"net/url"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/scenicgate/scenicgate/admin/enrollclient"
	"github.com/scenicgate/scenicgate/admin/service"
)

type ticketsData struct {
	Query string
	Page  enrollclient.Page
	Error string
}

func (s *Server) tickets(c *gin.Context) {
	d := ticketsData{Query: c.Query("q")}
	page, _ := strconv.Atoi(c.Query("page"))
	res, err := s.svc.SearchTickets(c.Request.Context(), d.Query, page)
	status := http.StatusOK
	if err != nil {
		p, _ := problemOf(err)
		status, d.Error = p.status, s.message(c, err)
		d.Query = ""
	}
	d.Page = res
	s.render(c, status, "tickets", s.newPage(c, "tickets", "tickets.title", d))
}

type ticketData struct {
	Detail service.TicketDetail
}

func (s *Server) ticket(c *gin.Context) {
	d, err := s.svc.Ticket(c.Request.Context(), c.Param("id"))
	if err != nil {
		s.fail(c, err)
		return
	}
	s.render(c, http.StatusOK, "ticket", s.newPage(c, "tickets", "ticket.title", ticketData{Detail: d}))
}

func ticketURL(id string) string { return "/tickets/" + url.PathEscape(id) }

// revoke revokes a ticket in enroll; the outcome comes back as a flash
// message on the ticket page.
func (s *Server) revoke(c *gin.Context) {
	id := c.Param("id")
	_, err := s.svc.RevokeTicket(c.Request.Context(), actor(c), id, c.PostForm("reason"))
	s.afterAction(c, err, lang(c).T("ticket.revoked_ok"), ticketURL(id))
}

// clearPresence marks a ticket's holder outside (anti-passback), for a
// visitor who left where there is no exit gate.
func (s *Server) clearPresence(c *gin.Context) {
	id := c.Param("id")
	err := s.svc.ClearPresence(c.Request.Context(), actor(c), id, c.PostForm("reason"))
	s.afterAction(c, err, lang(c).T("ticket.presence_cleared"), ticketURL(id))
}

func (s *Server) erase(c *gin.Context) {
	id := c.Param("id")
	_, err := s.svc.EraseBiometrics(c.Request.Context(), actor(c), id, c.PostForm("reason"))
	s.afterAction(c, err, lang(c).T("ticket.erased_ok"), ticketURL(id))
}

// afterAction ends a form POST: a forbidden action is a 403 page, anything
// else a flash message (success or the reason it failed) on the page to go
// back to.
func (s *Server) afterAction(c *gin.Context, err error, okText, back string) {
	p, known := problemOf(err)
	switch {
	case err == nil:
		s.setFlash(c, "ok", okText)
	case p.status == http.StatusForbidden || !known:
		s.fail(c, err)
		return
	default:
		s.setFlash(c, "err", s.message(c, err))
	}
	redirect(c, back)
}
