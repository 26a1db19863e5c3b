package rules

// CheckCapacity tells whether one more visitor fits the site: inParkNow
// visitors are inside against an instantaneous cap of instantCap, and
// admittedToday were admitted today against a daily cap of dailyCap. A cap of
// 0 or less means no limit. It returns (OK, true) when the visitor fits and
// (CapacityFull, false) when either cap is reached.
//
// Apply it at entry gates after Site.Decide allowed the ticket, never at
// exits, so a full park still lets people out.
func CheckCapacity(inParkNow, instantCap, admittedToday, dailyCap int) (Reason, bool) {
	if reached(inParkNow, instantCap) || reached(admittedToday, dailyCap) {
		return CapacityFull, false
	}
	return OK, true
}

func reached(count, limit int) bool { return limit > 0 && count >= limit }
