package rules

// Reason is the code a decision carries. It travels as Admission.reason and
// staff screens translate it, so a value never changes once published.
type Reason string

// The reasons, in the order Decide checks them, then CheckCapacity's.
const (
	// OK: the visitor may pass.
	OK Reason = "ok"
	// Unknown: no ticket was identified.
	Unknown Reason = "unknown"
	// Revoked: the ticket was revoked (refund, fraud, deleted consent).
	Revoked Reason = "revoked"
	// Invalid: the entitlement is malformed, for example its ticket type is
	// unspecified, so no rule can be applied. It points at a fault in enroll
	// or the ticket shop, not at the visitor.
	Invalid Reason = "invalid_ticket"
	// WrongZone: the ticket does not open this gate's zone.
	WrongZone Reason = "wrong_zone"
	// WrongGate: the ticket lists gates and this is not one of them.
	WrongGate Reason = "wrong_gate"
	// NotYetValid: the validity window has not started.
	NotYetValid Reason = "not_yet_valid"
	// Expired: the validity window has ended.
	Expired Reason = "expired"
	// OutsideSlot: a timed ticket outside its slot and the site's tolerances.
	OutsideSlot Reason = "outside_slot"
	// AlreadyUsed: no entries are left, in all or for today.
	AlreadyUsed Reason = "already_used"
	// CapacityFull: the site holds as many visitors as it may, now or today.
	CapacityFull Reason = "capacity_full"
)

// Reasons returns every reason in the order above. The slice is new on each
// call and belongs to the caller.
func Reasons() []Reason {
	return []Reason{OK, Unknown, Revoked, Invalid, WrongZone, WrongGate,
		NotYetValid, Expired, OutsideSlot, AlreadyUsed, CapacityFull}
}
