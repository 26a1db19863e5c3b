package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/scenicgate/scenicgate/admin/i18n"
	"github.com/scenicgate/scenicgate/admin/live"
	"github.com/scenicgate/scenicgate/admin/service"
)

type dashboardData struct {
	service.Dashboard
	Chart template.HTML
}

func (s *Server) dashboard(c *gin.Context) {
	d, err := s.svc.Dashboard(c.Request.Context(), 20)
	if err != nil {
		s.fail(c, err)
		return
	}
	data := dashboardData{Dashboard: d, Chart: hourlyChart(d.Stats.HourlyEntries, d.Stats.HourlyDenials)}
	s.render(c, http.StatusOK, "dashboard", s.newPage(c, "dashboard", "dash.title", data))
}

// keepAlive is how often an idle event stream sends a comment, so proxies
// and browsers keep it open.
const keepAlive = 20 * time.Second

// events streams the dashboard's live updates as server-sent events:
// "admission" with a FeedRow and "stats" with the day's figures, both in the
// viewer's language. It starts with the current figures, so a browser that
// reconnects is up to date at once.
//
// Every Options.SessionCheck the stream checks its session; once the
// session is logged out, expired or its user disabled, it sends
// "session_ended" (the script then goes to the login page) and ends, so
// nobody keeps watching admissions after losing the right to.
func (s *Server) events(c *gin.Context) {
	sub := s.hub.Subscribe()
	defer sub.Cancel()
	ss, _ := session(c) // requireLogin let the request in
	l, loc := lang(c), s.svc.Location()
	w := c.Writer
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	send := func(event string, v any) bool {
		b, err := json.Marshal(v)
		if err != nil {
			return false
		}
		if _, err := fmt.Fprintf(w, "event: %s\ndata: %s\n\n", event, b); err != nil {
			return false
		}
		w.Flush()
		return true
	}
	fmt.Fprint(w, "retry: 3000\n\n")
	if st, err := s.svc.Stats(c.Request.Context()); err == nil {
		send("stats", newStatsView(l, st))
	} else {
		w.Flush()
	}
	tick := time.NewTicker(keepAlive)
	defer tick.Stop()
	check := time.NewTicker(s.opts.SessionCheck)
	defer check.Stop()
	for {
		select {
		case <-c.Request.Context().Done():
			return
		case <-s.done:
			return
		case <-check.C:
			err := s.svc.SessionLive(c.Request.Context(), ss)
			if errors.Is(err, service.ErrNoSession) {
				send("session_ended", gin.H{"login": "/login"})
				return
			}
			if err != nil {
				// The database may be busy for a moment; the next check
				// decides.
				s.log.Warn("live feed: session check failed", "user", ss.User.Name, "err", err)
			}
		case <-tick.C:
			if _, err := fmt.Fprint(w, ": keep-alive\n\n"); err != nil {
				return
			}
			w.Flush()
		case ev, ok := <-sub.C:
			if !ok {
				return
			}
			if !s.sendEvent(ev, send, l, loc) {
				return
			}
		}
	}
}

// sendEvent sends what the dashboard shows of ev; gate heartbeats are not
// shown there.
func (s *Server) sendEvent(ev live.Event, send func(string, any) bool, l i18n.Lang, loc *time.Location) bool {
	switch {
	case ev.Admission != nil:
		return send("admission", feedRow(l, loc, *ev.Admission, s.svc.Now()))
	case ev.Stats != nil:
		return send("stats", newStatsView(l, *ev.Stats))
	}
	return true
}
