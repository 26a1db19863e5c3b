package web

import (
	"encoding/csv"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/scenicgate/scenicgate/admin/store"
	"github.com/scenicgate/scenicgate/internal/rules"
)

type exportData struct {
	From, To string
	TimeZone string
}

func (s *Server) exportPage(c *gin.Context) {
	day := rules.Site{Location: s.svc.Location()}.Day(s.svc.Now()).String()
	d := exportData{From: day, To: day, TimeZone: s.svc.CurrentSettings().TimeZone}
	s.render(c, http.StatusOK, "export", s.newPage(c, "export", "export.title", d))
}

// utf8BOM lets Excel open the file as UTF-8, so Chinese names survive.
const utf8BOM = "\uFEFF"

// formulaStart holds the first characters that make a spreadsheet read a
// cell as a formula, or that some read as the start of one: = + - @, tab
// and carriage return (OWASP's list for CSV injection).
const formulaStart = "=+-@\t\r"

// cell neutralises a text cell of the export: one that begins like a
// formula gets a leading apostrophe, so a visitor named
// "=HYPERLINK(...)" is shown as text rather than run on a staff computer.
// The CSV writer quotes whatever needs quoting.
func cell(s string) string {
	if s != "" && strings.ContainsRune(formulaStart, rune(s[0])) {
		return "'" + s
	}
	return s
}

// exportCSV streams the admissions of a range of site-local days as CSV,
// with a header row in the viewer's language.
func (s *Server) exportCSV(c *gin.Context) {
	l, loc := lang(c), s.svc.Location()
	from, to := c.Query("from"), c.Query("to")
	var w *csv.Writer
	start := func() {
		c.Header("Content-Type", "text/csv; charset=utf-8")
		c.Header("Content-Disposition", fmt.Sprintf(`attachment; filename="admissions-%s-%s.csv"`, from, to))
		c.Header("Cache-Control", "no-store")
		c.Status(http.StatusOK)
		c.Writer.WriteString(utf8BOM)
		w = csv.NewWriter(c.Writer)
		w.Write([]string{l.T("csv.time"), l.T("col.gate"), l.T("gates.zone"), l.T("col.ticket"), l.T("col.visitor"),
			l.T("col.decision"), l.T("col.reason"), l.T("csv.reason_code"), l.T("col.method"), l.T("col.direction"),
			l.T("col.entry"), l.T("col.distance"), l.T("csv.margin"), l.T("csv.frames"), l.T("adm.offline"),
			l.T("csv.latency"), l.T("csv.operator"), l.T("csv.note"), l.T("conflicts.event")})
	}
	err := s.svc.ExportAdmissions(c.Request.Context(), actor(c), from, to, func(a store.Admission) error {
		if w == nil {
			start()
		}
		// Text comes from ticket shops, gates and staff; numbers are
		// formatted here and left as they are, so a spreadsheet still
		// reads them as numbers.
		w.Write([]string{a.At.In(loc).Format("2006-01-02 15:04:05"), cell(a.GateID), cell(a.Zone), cell(a.TicketID), cell(a.VisitorName),
			l.Decision(a.Allowed(), a.Exit()), cell(l.Reason(a.Reason)), cell(a.Reason), l.Method(a.Method), l.Direction(a.Direction),
			strconv.Itoa(a.EntryNumber), fmt.Sprintf("%.4f", a.Distance), fmt.Sprintf("%.4f", a.Margin), strconv.Itoa(a.Frames),
			strconv.FormatBool(a.Offline), fmt.Sprintf("%.1f", a.LatencyMs), cell(a.Operator), cell(a.Note), cell(a.EventID)})
		return w.Error()
	})
	if err != nil && w == nil {
		s.fail(c, err)
		return
	}
	if w == nil {
		start()
	}
	w.Flush()
	if err != nil {
		s.log.Error("export interrupted", "err", err)
	}
}
