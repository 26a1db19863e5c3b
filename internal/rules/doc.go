// Package rules decides whether a ticket may pass a gate now. It is pure Go
// with no I/O, no clock and no shared state: the caller passes the
// entitlement, the gate, what it has counted of the ticket's earlier entries
// and the current time, and gets back allow or deny with a [Reason]. Enroll,
// gate and admin share it, so a ticket means the same thing everywhere.
//
// # Order of checks at an entry gate
//
// [Site.Decide] stops at the first check that fails. The order puts first
// what nothing can fix, then what another gate fixes, then what another time
// fixes, and last what depends on the gate's own count of entries, so the
// reason shown to the visitor and to staff is the one that matters most:
//
//  1. [Unknown]: there is no entitlement (nil).
//  2. [Revoked]: a revoked ticket never enters, whatever else holds.
//  3. [Invalid]: the entitlement cannot be judged; see [Site.Decide].
//  4. [WrongZone]: the ticket lists zones and the gate's zone is not one.
//  5. [WrongGate]: the ticket lists gates and the gate is not one.
//  6. [NotYetValid], 7. [Expired]: now is outside [valid_from, valid_until).
//  8. [OutsideSlot]: a timed ticket outside its slot and tolerances.
//  9. [AlreadyUsed]: the ticket's entries, or today's, are used up.
//
// Otherwise the answer is allow with reason [OK].
//
// [CapacityFull] is not a property of a ticket: apply [CheckCapacity] after an
// entry was allowed, with the site's live counts.
//
// # Exits
//
// Exits never trap a visitor. At a gate whose direction is EXIT, every known
// ticket is let out (allow, [OK], entry number 0), even one that is revoked,
// expired, malformed or meant for another zone, and nothing is consumed. Only
// a visitor the gate could not identify (nil entitlement) is denied with
// [Unknown]; exits keep a staffed or free-swing way out for them. A gate with
// an unspecified direction is treated as an entry gate, the stricter choice.
//
// # Time
//
// Validity is the half-open interval [valid_from_ms, valid_until_ms). Day
// boundaries are midnights in the site's time zone, China Standard Time
// (UTC+8) unless [Site.Location] says otherwise; [Site.ValidityWindow] turns
// civil dates into the window enroll stores, and [Site.Day] gives the
// site-local day of an instant, by which the gate counts entries per day.
package rules
