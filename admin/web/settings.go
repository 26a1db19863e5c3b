package web

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/scenicgate/scenicgate/admin/service"
	"github.com/scenicgate/scenicgate/internal/site"
)

type settingsData struct {
	Settings site.Settings
	Warning  string
}

func (s *Server) settingsPage(c *gin.Context) {
	set, err := s.svc.Settings(c.Request.Context())
	d := settingsData{Settings: set}
	if err != nil {
		if !errors.Is(err, service.ErrNATS) {
			s.fail(c, err)
			return
		}
		d.Warning = lang(c).T("settings.stale")
	}
	s.render(c, http.StatusOK, "settings", s.newPage(c, "settings", "settings.title", d))
}

// parseSettings reads the settings form; a field that is not a number is
// reported as the matching validation error.
func parseSettings(c *gin.Context) (site.Settings, error) {
	num := func(name string) (int, bool) {
		v := strings.TrimSpace(c.PostForm(name))
		if v == "" {
			return 0, true
		}
		n, err := strconv.Atoi(v)
		return n, err == nil
	}
	set := site.Settings{TimeZone: strings.TrimSpace(c.PostForm("time_zone")), EnforceCapacity: c.PostForm("enforce_capacity") != ""}
	var ok bool
	if set.DailyCapacity, ok = num("daily_capacity"); !ok {
		return set, service.ErrBadCapacity
	}
	if set.InstantCapacity, ok = num("instant_capacity"); !ok {
		return set, service.ErrBadCapacity
	}
	warn, ok := num("warn_percent")
	if !ok {
		return set, service.ErrBadWarnRatio
	}
	set.WarnRatio = float64(warn) / 100
	early, ok1 := num("slot_early")
	late, ok2 := num("slot_late")
	if !ok1 || !ok2 {
		return set, service.ErrBadTolerance
	}
	set.SlotEarly, set.SlotLate = site.Duration(time.Duration(early)*time.Minute), site.Duration(time.Duration(late)*time.Minute)
	passback, ok := num("passback_window")
	if !ok || passback < 0 || time.Duration(passback)*time.Minute > site.MaxPassbackWindow {
		return set, service.ErrBadPassback
	}
	set.PassbackWindow = site.Duration(time.Duration(passback) * time.Minute)
	return set, nil
}

func (s *Server) saveSettings(c *gin.Context) {
	set, err := parseSettings(c)
	if err == nil {
		err = s.svc.SaveSettings(c.Request.Context(), actor(c), set)
	}
	s.afterAction(c, err, lang(c).T("settings.saved"), "/settings")
}
