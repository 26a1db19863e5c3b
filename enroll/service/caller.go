package service

import (
	"github.com/scenicgate/scenicgate/enroll/store"
)

// Caller is who asks for an operation: an API key with its scope, or the
// system itself (the command line, the purge job). The zero Caller may see
// and do nothing.
//
//   - A shop key (store.ScopeShop) creates orders and sees and changes only
//     the tickets of orders it created; anything else does not exist for it.
//   - A staff key (store.ScopeStaff) sees every ticket and may revoke, erase
//     and re-issue QR codes, but creates no orders, adds no faces and is
//     shown a QR token only by re-issuing it.
//   - The system sees and may do everything.
type Caller struct {
	Name   string
	Scope  store.Scope
	system bool
}

// KeyCaller is the caller presenting API key k.
func KeyCaller(k store.APIKey) Caller { return Caller{Name: k.Name, Scope: k.Scope} }

// System is enroll itself acting as name ("cli:faces recompute",
// "system:purge", or a test's name).
func System(name string) Caller { return Caller{Name: name, system: true} }

// Actor is how the audit log and an order's source name the caller.
func (c Caller) Actor() string {
	if c.system {
		return c.Name
	}
	return store.APIKey{Name: c.Name}.Source()
}

// owns reports whether the caller created the ticket's order.
func (c Caller) owns(t store.Ticket) bool { return c.Name != "" && t.Source == c.Actor() }

// sees reports whether the ticket exists for the caller at all.
func (c Caller) sees(t store.Ticket) bool {
	switch {
	case c.system:
		return true
	case c.Scope == store.ScopeStaff:
		return true
	case c.Scope == store.ScopeShop:
		return c.owns(t)
	}
	return false
}

// seesQR reports whether the caller may be shown the ticket's QR token
// without re-issuing it: the shop that sold the ticket, or the system.
func (c Caller) seesQR(t store.Ticket) bool {
	return c.system || (c.Scope == store.ScopeShop && c.owns(t))
}

// sells reports whether the caller may create orders and bind faces.
func (c Caller) sells() bool { return c.system || c.Scope == store.ScopeShop }

func forbidden(what string) *Error {
	return &Error{Code: CodeForbidden, Message: "a staff key cannot " + what + "; use the ticket shop's key"}
}
