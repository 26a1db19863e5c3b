package web

import (
	"fmt"
	"html/template"
	"math"
	"strings"
	"time"

	"github.com/scenicgate/scenicgate/admin/i18n"
	"github.com/scenicgate/scenicgate/admin/live"
	"github.com/scenicgate/scenicgate/admin/store"
	"github.com/scenicgate/scenicgate/proto/sgpb"
)

// FeedRow is an admission as a table row, already in the viewer's language:
// the dashboard renders it and the event stream sends it as JSON.
type FeedRow struct {
	EventID     string `json:"event_id"`
	Time        string `json:"time"`
	Gate        string `json:"gate"`
	Ticket      string `json:"ticket"`
	Visitor     string `json:"visitor"`
	Decision    string `json:"decision"`
	Class       string `json:"class"`
	Reason      string `json:"reason"`
	Distance    string `json:"distance"`
	Method      string `json:"method"`
	Offline     bool   `json:"offline"`
	OfflineText string `json:"offline_text"`
}

// feedRow shows the time alone for decisions of today and the date too for
// older ones.
func feedRow(l i18n.Lang, loc *time.Location, a store.Admission, now time.Time) FeedRow {
	at := a.At.In(loc)
	layout := "15:04:05"
	if y, m, d := at.Date(); now.In(loc).Year() != y || now.In(loc).Month() != m || now.In(loc).Day() != d {
		layout = "2006-01-02 15:04:05"
	}
	r := FeedRow{
		EventID: a.EventID, Time: at.Format(layout), Gate: a.GateID, Ticket: a.TicketID, Visitor: a.VisitorName,
		Decision: l.Decision(a.Allowed(), a.Exit()), Class: "deny", Reason: l.Reason(a.Reason),
		Distance: "—", Method: l.Method(a.Method), Offline: a.Offline, OfflineText: l.T("adm.offline"),
	}
	if r.Visitor == "" {
		r.Visitor = "—"
	}
	if a.Allowed() {
		r.Class = "allow"
	}
	if a.Method == sgpb.Method_METHOD_FACE || a.Method == sgpb.Method_METHOD_VERIFY {
		r.Distance = fmt.Sprintf("%.3f", a.Distance)
		if a.FaceModel != "" {
			r.Distance += " (" + a.FaceModel + ")"
		}
	}
	if a.Operator != "" {
		r.Method += " · " + a.Operator
	}
	return r
}

// GaugeView is one capacity gauge.
type GaugeView struct {
	L       i18n.Lang `json:"-"`
	ID      string    `json:"id"`
	Label   string    `json:"-"`
	Value   int       `json:"value"`
	Cap     int       `json:"cap"`
	Warn    float64   `json:"warn"`
	Percent int       `json:"percent"`
	Width   float64   `json:"width"`
	Level   string    `json:"level"` // "none", "ok", "warn" or "alert"
	State   string    `json:"state"`
}

// gaugeView compares value with capacity: "warn" from the warning ratio,
// "alert" at 100 %. A capacity of 0 means none is set.
func gaugeView(l i18n.Lang, id, label string, value, capacity int, warn float64) GaugeView {
	g := GaugeView{L: l, ID: id, Label: label, Value: value, Cap: capacity, Warn: warn, Level: "none"}
	if capacity <= 0 {
		return g
	}
	ratio := float64(value) / float64(capacity)
	g.Percent = int(math.Floor(ratio * 100))
	g.Width = math.Min(ratio*100, 100)
	switch {
	case ratio >= 1:
		g.Level, g.State = "alert", l.T("gauge.full")
	case ratio >= warn:
		g.Level, g.State = "warn", l.T("gauge.near")
	default:
		g.Level, g.State = "ok", l.T("gauge.ok")
	}
	return g
}

// statsView is the dashboard's figures as the event stream sends them.
type statsView struct {
	Day           string    `json:"day"`
	Entries       int       `json:"entries"`
	Exits         int       `json:"exits"`
	Denials       int       `json:"denials"`
	InPark        int       `json:"in_park"`
	HourlyEntries []int     `json:"hourly_entries"`
	HourlyDenials []int     `json:"hourly_denials"`
	Daily         GaugeView `json:"daily"`
	Instant       GaugeView `json:"instant"`
}

func newStatsView(l i18n.Lang, st live.Stats) statsView {
	return statsView{
		Day: st.Day, Entries: st.Counts.Entries, Exits: st.Counts.Exits, Denials: st.Counts.Denials,
		InPark: st.Counts.InPark(), HourlyEntries: st.HourlyEntries, HourlyDenials: st.HourlyDenials,
		Daily:   gaugeView(l, "daily", l.T("dash.daily_capacity"), st.Counts.Entries, st.DailyCapacity, st.WarnRatio),
		Instant: gaugeView(l, "instant", l.T("dash.instant_capacity"), st.Counts.InPark(), st.InstantCapacity, st.WarnRatio),
	}
}

// Chart geometry; the script scales bars the same way.
const (
	chartSlot  = 30  // width per hour
	chartPlot  = 140 // height of the tallest bar
	chartTop   = 16
	chartLabel = 18 // room for the hour labels
)

// hourlyChart draws allowed entries and denials per hour as an SVG bar
// chart. Bars carry ids so the script can move them when figures change.
func hourlyChart(entries, denials []int) template.HTML {
	n := len(entries)
	top := 1
	for i := range entries {
		top = max(top, entries[i], denials[i])
	}
	base := chartTop + chartPlot
	width, height := 40+n*chartSlot, base+chartLabel
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" id="hourly" viewBox="0 0 %d %d" data-plot="%d" data-base="%d" role="img">`, width, height, chartPlot, base)
	fmt.Fprintf(&b, `<line x1="36" y1="%d" x2="%d" y2="%d"/><line x1="36" y1="%d" x2="%d" y2="%d"/>`, chartTop, width, chartTop, base, width, base)
	fmt.Fprintf(&b, `<text x="32" y="%d" text-anchor="end" id="chart-max">%d</text><text x="32" y="%d" text-anchor="end">0</text>`, chartTop+4, top, base)
	for i := 0; i < n; i++ {
		x := 40 + i*chartSlot
		he := entries[i] * chartPlot / top
		hd := denials[i] * chartPlot / top
		fmt.Fprintf(&b, `<rect class="e" id="bar-e-%d" x="%d" y="%d" width="14" height="%d"><title>%d</title></rect>`, i, x+3, base-he, he, entries[i])
		fmt.Fprintf(&b, `<rect class="d" id="bar-d-%d" x="%d" y="%d" width="9" height="%d"><title>%d</title></rect>`, i, x+18, base-hd, hd, denials[i])
		if i%3 == 0 {
			fmt.Fprintf(&b, `<text x="%d" y="%d">%02d</text>`, x+2, base+14, i)
		}
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}
