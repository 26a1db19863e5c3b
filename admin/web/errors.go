package web

import (
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/scenicgate/scenicgate/admin/enrollclient"
	"github.com/scenicgate/scenicgate/admin/service"
	"github.com/scenicgate/scenicgate/admin/store"
)

// problem is how an error is shown: an HTTP status and a catalogue key.
type problem struct {
	status int
	key    string
}

// problems maps the sentinels to what staff see, in order of precedence.
var problems = []struct {
	err error
	problem
}{
	{errCSRF, problem{http.StatusForbidden, "error.csrf"}},
	{service.ErrNoSession, problem{http.StatusUnauthorized, "error.login"}},
	{service.ErrForbidden, problem{http.StatusForbidden, "error.forbidden"}},
	{service.ErrRateLimited, problem{http.StatusTooManyRequests, "login.rate_limited"}},
	{service.ErrLocked, problem{http.StatusForbidden, "login.locked"}},
	{service.ErrBadCredentials, problem{http.StatusUnauthorized, "login.bad"}},
	{store.ErrNotFound, problem{http.StatusNotFound, "error.not_found"}},
	{store.ErrDuplicateName, problem{http.StatusConflict, "users.duplicate"}},
	{enrollclient.ErrNotFound, problem{http.StatusNotFound, "error.ticket_not_found"}},
	{enrollclient.ErrNotConfigured, problem{http.StatusServiceUnavailable, "error.enroll_not_configured"}},
	{enrollclient.ErrUnauthorized, problem{http.StatusBadGateway, "error.enroll_key"}},
	{enrollclient.ErrUnavailable, problem{http.StatusBadGateway, "error.enroll_unavailable"}},
	{service.ErrReasonRequired, problem{http.StatusBadRequest, "error.reason_required"}},
	{service.ErrReasonTooLong, problem{http.StatusBadRequest, "error.reason_too_long"}},
	{service.ErrNoteRequired, problem{http.StatusBadRequest, "error.note_required"}},
	{service.ErrBadName, problem{http.StatusBadRequest, "users.bad_name"}},
	{service.ErrBadRole, problem{http.StatusBadRequest, "users.bad_role"}},
	{service.ErrWeakPassword, problem{http.StatusBadRequest, "users.weak_password"}},
	{service.ErrSelf, problem{http.StatusBadRequest, "users.self"}},
	{service.ErrBadGate, problem{http.StatusBadRequest, "gates.bad_gate"}},
	{service.ErrBadCommand, problem{http.StatusBadRequest, "gates.bad_command"}},
	{service.ErrGateUnreachable, problem{http.StatusBadGateway, "gates.unreachable"}},
	{service.ErrGateTimeout, problem{http.StatusGatewayTimeout, "gates.timeout"}},
	{service.ErrGateRefused, problem{http.StatusBadGateway, "gates.refused"}},
	{service.ErrBadDateRange, problem{http.StatusBadRequest, "export.bad_range"}},
	{service.ErrBadTimeZone, problem{http.StatusBadRequest, "settings.bad_tz"}},
	{service.ErrBadCapacity, problem{http.StatusBadRequest, "settings.bad_capacity"}},
	{service.ErrBadWarnRatio, problem{http.StatusBadRequest, "settings.bad_warn"}},
	{service.ErrBadTolerance, problem{http.StatusBadRequest, "settings.bad_tolerance"}},
	{service.ErrBadPassback, problem{http.StatusBadRequest, "settings.bad_passback"}},
	{service.ErrNATS, problem{http.StatusServiceUnavailable, "error.nats"}},
}

// problemOf returns how err is shown; unknown errors are 500s.
func problemOf(err error) (problem, bool) {
	for _, p := range problems {
		if errors.Is(err, p.err) {
			return p.problem, true
		}
	}
	return problem{http.StatusInternalServerError, "error.internal"}, false
}

// message is the staff-facing text of err in the request's language. A
// gate's own error text is appended, since only the gate knows it.
func (s *Server) message(c *gin.Context, err error) string {
	p, _ := problemOf(err)
	msg := lang(c).T(p.key)
	var ge *service.GateError
	if errors.As(err, &ge) {
		msg += ": " + ge.Msg
	}
	return msg
}

// fail answers with the error page (or JSON for scripts). Unknown errors
// are logged and shown as internal errors without detail.
func (s *Server) fail(c *gin.Context, err error) {
	p, known := problemOf(err)
	if !known {
		s.log.Error("request failed", "method", c.Request.Method, "path", c.Request.URL.Path, "err", err)
	}
	msg := s.message(c, err)
	if wantsJSON(c) || c.FullPath() == "/events" {
		c.AbortWithStatusJSON(p.status, gin.H{"ok": false, "message": msg})
		return
	}
	s.render(c, p.status, "error", s.newPage(c, "", "error.title", struct {
		Status  int
		Message string
	}{p.status, msg}))
	c.Abort()
}
