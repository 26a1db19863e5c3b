package ingest

import (
	"context"
	"time"

	"github.com/scenicgate/scenicgate/admin/live"
	"github.com/scenicgate/scenicgate/internal/rules"
	"github.com/scenicgate/scenicgate/internal/site"
)

// Day returns the site-local day of t and its bounds [from, to) under the
// current settings.
func (i *Ingester) Day(t time.Time) (day rules.Date, from, to time.Time) {
	s := rules.Site{Location: i.Settings().Location()}
	day = s.Day(t)
	return day, s.StartOfDay(day), s.StartOfDay(day.AddDays(1))
}

// Stats computes today's figures from the stored admissions.
func (i *Ingester) Stats(ctx context.Context) (live.Stats, error) {
	settings := i.Settings()
	day, from, to := i.Day(i.opts.Now())
	counts, err := i.store.Counts(ctx, from, to)
	if err != nil {
		return live.Stats{}, err
	}
	hours := int(to.Sub(from).Round(time.Hour).Hours())
	entries, denials, err := i.store.Hourly(ctx, from, hours)
	if err != nil {
		return live.Stats{}, err
	}
	return live.Stats{
		Day: day.String(), Counts: counts, HourlyEntries: entries, HourlyDenials: denials,
		DailyCapacity: settings.DailyCapacity, InstantCapacity: settings.InstantCapacity, WarnRatio: settings.WarnRatio,
	}, nil
}

// runOccupancy recomputes the day's figures whenever admissions arrive, the
// settings change or the site-local day ends; it tells the hub and writes
// the occupancy to the SITE bucket when it changed, at most once per
// OccupancyInterval. A write that fails is retried until it succeeds.
func (i *Ingester) runOccupancy(ctx context.Context) {
	var saved site.Occupancy
	pending := true // write once at start: the figures may have changed while admin was away
	for {
		computed := ""
		st, err := i.Stats(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			i.log.Error("compute occupancy", "err", err)
		} else {
			computed = st.Day
			i.hub.Publish(live.Event{Stats: &st})
			occ := site.Occupancy{Day: st.Day, AdmittedToday: st.Counts.Entries, InPark: st.Counts.InPark(), At: i.opts.Now()}
			if pending || occ.Day != saved.Day || occ.AdmittedToday != saved.AdmittedToday || occ.InPark != saved.InPark {
				pending = !i.saveOccupancy(ctx, occ)
				if !pending {
					saved = occ
				}
			}
		}
		if !sleep(ctx, i.opts.OccupancyInterval) {
			return
		}
		wait := i.untilNextDay()
		if pending {
			wait = min(wait, 2*time.Second)
		}
		// Midnight passed since the figures were computed: waiting for the
		// next midnight would leave yesterday's figures up for a while.
		if day, _, _ := i.Day(i.opts.Now()); computed != "" && day.String() != computed {
			wait = 0
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-i.wake:
		case <-t.C:
		}
		t.Stop()
	}
}

// untilNextDay is how long until just after the next site-local midnight,
// capped at a minute so a changed time zone or clock takes effect soon.
func (i *Ingester) untilNextDay() time.Duration {
	now := i.opts.Now()
	_, _, to := i.Day(now)
	return min(to.Sub(now)+50*time.Millisecond, time.Minute)
}

func (i *Ingester) saveOccupancy(ctx context.Context, occ site.Occupancy) bool {
	kv, err := i.SiteKV(ctx)
	if err == nil {
		wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err = site.SaveOccupancy(wctx, kv, occ, i.opts.Signer)
		cancel()
	}
	if err != nil {
		if ctx.Err() == nil {
			i.log.Warn("occupancy not written to NATS; retrying", "err", err)
		}
		return false
	}
	return true
}
