package service

import "errors"

// Errors of the operations. Handlers map each to a status and a message
// with errors.Is; the messages staff see come from the i18n catalogue.
var (
	// ErrBadCredentials: unknown user, wrong password or disabled account.
	// The three are not told apart, so a login page reveals nothing.
	ErrBadCredentials = errors.New("service: wrong user name or password")
	// ErrLocked: too many wrong passwords; the account refuses every
	// password until the lock expires.
	ErrLocked = errors.New("service: account locked")
	// ErrRateLimited: too many login attempts from one address.
	ErrRateLimited = errors.New("service: too many login attempts")
	// ErrNoSession: the session cookie is missing, unknown or expired.
	ErrNoSession = errors.New("service: not logged in")
	// ErrForbidden: the staff member's role does not allow the action.
	ErrForbidden = errors.New("service: not allowed for this role")

	ErrReasonRequired = errors.New("service: a reason is required")
	ErrReasonTooLong  = errors.New("service: the reason is too long")
	ErrNoteRequired   = errors.New("service: a note is required")
	ErrBadName        = errors.New("service: user names are 1 to 32 letters, digits, '.', '_' or '-'")
	ErrBadRole        = errors.New("service: unknown role")
	ErrWeakPassword   = errors.New("service: passwords need at least 8 characters")
	ErrSelf           = errors.New("service: staff cannot disable their own account")
	ErrBadGate        = errors.New("service: gate ids are 1 to 64 letters, digits, '_' or '-'")
	ErrBadCommand     = errors.New("service: unknown gate command")
	ErrBadDateRange   = errors.New("service: the dates must be YYYY-MM-DD, in order, at most 366 days apart")
	ErrBadTimeZone    = errors.New("service: unknown time zone")
	ErrBadCapacity    = errors.New("service: capacities must be 0 or more")
	ErrBadWarnRatio   = errors.New("service: the warning ratio must be above 0 and at most 1")
	ErrBadTolerance   = errors.New("service: slot tolerances must be 0 or more")
	ErrBadPassback    = errors.New("service: the passback window must be from 0 to 1440 minutes")

	// ErrGateUnreachable: no gate answers on that command subject (the
	// gate is offline or the id is wrong).
	ErrGateUnreachable = errors.New("service: the gate does not answer")
	// ErrGateTimeout: the gate took the command but did not answer in time.
	ErrGateTimeout = errors.New("service: the gate did not answer in time")
	// ErrGateRefused: the gate answered that the command failed; see
	// GateError for its reason.
	ErrGateRefused = errors.New("service: the gate refused the command")
	// ErrNATS: NATS could not be reached for the operation.
	ErrNATS = errors.New("service: NATS unavailable")
)

// GateError carries the error a gate reported for a command.
type GateError struct{ Msg string }

func (e *GateError) Error() string { return "gate: " + e.Msg }
func (e *GateError) Unwrap() error { return ErrGateRefused }
