package rules

import "time"

// Site holds what a scenic area decides once for all its gates. The zero
// value is a site on China Standard Time with no slot tolerance. A Site is a
// value that is only read, so it is safe for concurrent use.
type Site struct {
	// Location sets the day boundaries; nil means DefaultLocation.
	Location *time.Location
	// EarlyTolerance and LateTolerance widen a timed ticket's slot at both
	// ends (e.g. 15m and 30m), so a visitor who queued is not turned away for
	// a few minutes. Negative values count as zero.
	EarlyTolerance, LateTolerance time.Duration
}

// cst is UTC+8. China has kept it without daylight saving since 1991, so for
// any ticket date it equals Asia/Shanghai, and it needs no time zone database
// on the gate computer.
var cst = time.FixedZone("CST", 8*60*60)

// DefaultLocation returns the location used when Site.Location is nil:
// China Standard Time, UTC+8, which matches Asia/Shanghai for every date
// since 1991.
func DefaultLocation() *time.Location { return cst }

func (s Site) location() *time.Location {
	if s.Location == nil {
		return cst
	}
	return s.Location
}
