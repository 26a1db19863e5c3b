package web

import (
	"net/http"
	"net/url"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/scenicgate/scenicgate/admin/service"
)

type gatesData struct {
	Gates        []service.GateView
	OfflineAfter int // seconds
	Selected     string
}

func (s *Server) gatesPage(c *gin.Context) (page, error) {
	gates, err := s.svc.Gates(c.Request.Context())
	if err != nil {
		return page{}, err
	}
	d := gatesData{Gates: gates, OfflineAfter: int(s.svc.Config().GateOfflineAfter / time.Second), Selected: c.Query("gate")}
	return s.newPage(c, "gates", "gates.title", d), nil
}

func (s *Server) gates(c *gin.Context) {
	p, err := s.gatesPage(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	s.render(c, http.StatusOK, "gates", p)
}

// gateRows is the table body the script reloads every few seconds.
func (s *Server) gateRows(c *gin.Context) {
	p, err := s.gatesPage(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	s.renderFragment(c, "gates", "gaterows", p)
}

// command sends "open" or "reload" to a gate. The script posts it and shows
// the JSON answer in place; without the script the answer is a flash
// message on the gates page.
func (s *Server) command(c *gin.Context) {
	gate, kind := c.PostForm("gate"), c.PostForm("kind")
	_, err := s.svc.CommandGate(c.Request.Context(), actor(c), gate, kind, c.PostForm("reason"))
	l := lang(c)
	okText := l.T("gates.sent_"+kind, gate)
	if !wantsJSON(c) {
		s.afterAction(c, err, okText, "/gates?gate="+url.QueryEscape(gate))
		return
	}
	if err != nil {
		p, _ := problemOf(err)
		status := http.StatusOK // the request worked; the gate did not
		if p.status == http.StatusForbidden || p.status == http.StatusBadRequest {
			status = p.status
		}
		c.JSON(status, gin.H{"ok": false, "message": s.message(c, err)})
		return
	}
	c.JSON(http.StatusOK, gin.H{"ok": true, "message": okText})
}
