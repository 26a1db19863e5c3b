package rules

import (
	"errors"
	"fmt"
	"time"
)

// Errors of the date helpers; test for them with errors.Is.
var (
	// ErrBadDate: a date is not a real day of the Gregorian calendar, or its
	// text is not YYYY-MM-DD.
	ErrBadDate = errors.New("rules: bad date")
	// ErrDateOrder: the last day of a validity window comes before the first.
	ErrDateOrder = errors.New("rules: last day before first day")
)

// Date is a civil day with no time zone, such as the day printed on a ticket.
// The zero value is not a valid date.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// dateLayout is the text form of a Date and the day key gates store.
const dateLayout = "2006-01-02"

// ParseDate parses "YYYY-MM-DD" and rejects days that do not exist, such as
// "2026-02-30". Errors wrap ErrBadDate.
func ParseDate(s string) (Date, error) {
	t, err := time.Parse(dateLayout, s)
	if err != nil {
		return Date{}, fmt.Errorf("%w: %q: %v", ErrBadDate, s, err)
	}
	return dateOf(t), nil
}

func dateOf(t time.Time) Date {
	y, m, d := t.Date()
	return Date{y, m, d}
}

// String returns the date as "YYYY-MM-DD"; it is also the day key gates use
// to count entries per day, and sorts in date order for years 0 to 9999.
func (d Date) String() string {
	return fmt.Sprintf("%04d-%02d-%02d", d.Year, int(d.Month), d.Day)
}

// Valid reports whether d is a real day, e.g. not February 30.
func (d Date) Valid() bool {
	return d.Month >= time.January && d.Month <= time.December &&
		dateOf(d.noonUTC()) == d
}

// AddDays returns the date n days later (earlier for negative n).
func (d Date) AddDays(n int) Date {
	return dateOf(time.Date(d.Year, d.Month, d.Day+n, 12, 0, 0, 0, time.UTC))
}

// Before reports whether d is an earlier day than o.
func (d Date) Before(o Date) bool { return d.noonUTC().Before(o.noonUTC()) }

// noonUTC avoids any question of time zones or daylight saving when Date
// arithmetic goes through time.Time.
func (d Date) noonUTC() time.Time {
	return time.Date(d.Year, d.Month, d.Day, 12, 0, 0, 0, time.UTC)
}

// Day returns the site-local day of the instant t. Gates count
// Usage.EntriesToday as the entries whose Day equals Day(now).
func (s Site) Day(t time.Time) Date {
	return dateOf(t.In(s.location()))
}

// StartOfDay returns the first instant of day d in the site's time zone. In a
// zone that skips midnight for daylight saving, it is whatever instant
// time.Date picks for that midnight.
func (s Site) StartOfDay(d Date) time.Time {
	return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, s.location())
}

// ValidityWindow returns the validity window of a ticket valid from day first
// through day last, both included: from is the start of first and until the
// start of the day after last, in the site's time zone. Enroll stores them as
// valid_from_ms and valid_until_ms. A one-day ticket has first == last; the
// window does not depend on the ticket type. Errors wrap ErrBadDate or
// ErrDateOrder.
func (s Site) ValidityWindow(first, last Date) (from, until time.Time, err error) {
	for _, d := range []Date{first, last} {
		if !d.Valid() {
			return time.Time{}, time.Time{}, fmt.Errorf("%w: %v", ErrBadDate, d)
		}
	}
	if last.Before(first) {
		return time.Time{}, time.Time{}, fmt.Errorf("%w: %v before %v", ErrDateOrder, last, first)
	}
	return s.StartOfDay(first), s.StartOfDay(last.AddDays(1)), nil
}
