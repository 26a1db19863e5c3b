package bus

import (
	"errors"
	"fmt"
	"regexp"
)

// Role is what a program does on the site. It decides what the program may
// publish and subscribe to on NATS.
type Role string

// The roles. Each program has its own identity; each gate its own.
const (
	// RoleEnroll creates the JetStream assets and alone writes ENTITLEMENTS
	// and the QR keys in SITE.
	RoleEnroll Role = "enroll"
	// RoleAdmin reads admissions, entitlements and heartbeats, alone writes
	// the site settings and occupancy in SITE, and alone sends gate
	// commands.
	RoleAdmin Role = "admin"
	// RoleGate reads ENTITLEMENTS and SITE, creates claims in REDEMPTIONS,
	// publishes only its own admissions and heartbeat, and answers only its
	// own commands.
	RoleGate Role = "gate"
)

// ErrBadIdentity: a role that does not exist, a gate without a valid id, or
// an id given for a role that takes none.
var ErrBadIdentity = errors.New("bus: bad identity")

// gateIDPattern is what a gate id may look like: it becomes a token of NATS
// subjects and a part of KV keys, and admin addresses gates by it.
var gateIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// Identity names one program on the bus: its role and, for a gate, its id.
type Identity struct {
	Role Role   `json:"role"`
	ID   string `json:"id,omitempty"` // the gate's id; empty for enroll and admin
}

// Enroll is enroll's identity.
func Enroll() Identity { return Identity{Role: RoleEnroll} }

// Admin is admin's identity.
func Admin() Identity { return Identity{Role: RoleAdmin} }

// Gate is the identity of the gate with the given id.
func Gate(id string) Identity { return Identity{Role: RoleGate, ID: id} }

// String returns "enroll", "admin" or "gate <id>".
func (i Identity) String() string {
	if i.ID == "" {
		return string(i.Role)
	}
	return string(i.Role) + " " + i.ID
}

// Validate returns ErrBadIdentity for a role that does not exist, a gate id
// that is not 1–64 letters, digits, '-' or '_', or an id for enroll or admin.
func (i Identity) Validate() error {
	switch i.Role {
	case RoleEnroll, RoleAdmin:
		if i.ID != "" {
			return fmt.Errorf("%w: %s takes no id", ErrBadIdentity, i.Role)
		}
	case RoleGate:
		if !gateIDPattern.MatchString(i.ID) {
			return fmt.Errorf("%w: gate id %q must be 1 to 64 letters, digits, - or _", ErrBadIdentity, i.ID)
		}
	default:
		return fmt.Errorf("%w: unknown role %q (want enroll, admin or gate)", ErrBadIdentity, i.Role)
	}
	return nil
}

// InboxPrefix is the prefix of the identity's reply subjects. Each identity
// has its own, so none may subscribe to the replies meant for another.
func (i Identity) InboxPrefix() string {
	if i.ID == "" {
		return "_INBOX." + string(i.Role)
	}
	return "_INBOX." + string(i.Role) + "." + i.ID
}
