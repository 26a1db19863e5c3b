package service

import (
	"context"
	"strconv"
	"time"

	"github.com/scenicgate/scenicgate/admin/live"
	"github.com/scenicgate/scenicgate/admin/store"
	"github.com/scenicgate/scenicgate/internal/rules"
)

// Dashboard is what the front page shows.
type Dashboard struct {
	Stats         live.Stats
	Recent        []store.Admission
	OpenConflicts int
	GatesOnline   int
	GatesOffline  int
	GatesFaulty   int
}

// Dashboard gathers today's figures, the latest decisions and a summary of
// the gates.
func (s *Service) Dashboard(ctx context.Context, recent int) (Dashboard, error) {
	var d Dashboard
	var err error
	if d.Stats, err = s.ingest.Stats(ctx); err != nil {
		return d, err
	}
	if d.Recent, err = s.store.RecentAdmissions(ctx, recent); err != nil {
		return d, err
	}
	if d.OpenConflicts, err = s.store.OpenConflicts(ctx); err != nil {
		return d, err
	}
	gates, err := s.Gates(ctx)
	if err != nil {
		return d, err
	}
	for _, g := range gates {
		switch {
		case !g.Online:
			d.GatesOffline++
		case g.Faulty():
			d.GatesFaulty++
			d.GatesOnline++
		default:
			d.GatesOnline++
		}
	}
	return d, nil
}

// Location returns the site's time zone, in which staff read times.
func (s *Service) Location() *time.Location { return s.ingest.Settings().Location() }

// ExportAdmissions calls fn for every admission of the site-local days from
// through to (both included, "YYYY-MM-DD", at most 366 days), oldest first,
// and audits the export.
func (s *Service) ExportAdmissions(ctx context.Context, a Actor, from, to string, fn func(store.Admission) error) error {
	first, err1 := rules.ParseDate(from)
	last, err2 := rules.ParseDate(to)
	if err1 != nil || err2 != nil || last.Before(first) || first.AddDays(366).Before(last) {
		return ErrBadDateRange
	}
	site := rules.Site{Location: s.Location()}
	start, end := site.StartOfDay(first), site.StartOfDay(last.AddDays(1))
	n := 0
	err := s.store.EachAdmission(ctx, start, end, func(ad store.Admission) error { n++; return fn(ad) })
	s.audit(ctx, a, ActionExport, from+".."+to, rowsDetail(n, err), err == nil)
	return err
}

func rowsDetail(n int, err error) string {
	d := "rows=" + strconv.Itoa(n)
	if err != nil {
		d += " → " + err.Error()
	}
	return d
}

// Stats returns today's figures.
func (s *Service) Stats(ctx context.Context) (live.Stats, error) { return s.ingest.Stats(ctx) }
