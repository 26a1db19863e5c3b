// Package service holds admin's operations as plain methods: log in, revoke
// a ticket, open a gate, resolve a conflict, save settings, export. The web
// handlers only decode a request, call one of them and render the result,
// so tests and any future API use the same code. Every operation that
// changes something, or is refused for a reason staff should see later,
// writes an audit row naming the staff member.
package service

import (
	"context"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/scenicgate/scenicgate/admin/enrollclient"
	"github.com/scenicgate/scenicgate/admin/ingest"
	"github.com/scenicgate/scenicgate/admin/store"
	"github.com/scenicgate/scenicgate/internal/signed"
)

// Config tunes the operations. DefaultConfig gives the values --help shows.
type Config struct {
	// SessionTTL is how long a session lasts without use.
	SessionTTL time.Duration
	// MaxFailures wrong passwords in a row lock an account for LockFor.
	MaxFailures int
	LockFor     time.Duration
	// LoginAttempts login attempts per address are allowed per LoginWindow.
	LoginAttempts int
	LoginWindow   time.Duration
	// CommandTimeout bounds the wait for a gate's reply.
	CommandTimeout time.Duration
	// GateOfflineAfter: a gate is offline when its last heartbeat is older.
	GateOfflineAfter time.Duration
	// AdmissionsRetention is how long admin keeps each gate decision (and
	// resolved conflicts) for the dashboard, ticket pages and exports.
	AdmissionsRetention time.Duration
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{
		SessionTTL:       12 * time.Hour,
		MaxFailures:      5,
		LockFor:          15 * time.Minute,
		LoginAttempts:    30,
		LoginWindow:      5 * time.Minute,
		CommandTimeout:   5 * time.Second,
		GateOfflineAfter: 15 * time.Second,

		AdmissionsRetention: 90 * 24 * time.Hour,
	}
}

// Actor is the staff member an operation runs for.
type Actor struct {
	Name string
	Role store.Role
	IP   string
}

// Service runs the operations. It is safe for concurrent use.
type Service struct {
	cfg     Config
	store   *store.Store
	enroll  *enrollclient.Client
	nc      *nats.Conn
	signer  *signed.Signer
	ingest  *ingest.Ingester
	log     *slog.Logger
	now     func() time.Time
	limiter *limiter
}

// New returns the operations over their dependencies. signer is admin's
// key, which gates check settings and commands against. now is the clock
// (time.Now outside tests).
func New(cfg Config, st *store.Store, enroll *enrollclient.Client, nc *nats.Conn, signer *signed.Signer, ing *ingest.Ingester, log *slog.Logger, now func() time.Time) *Service {
	return &Service{
		cfg: cfg, store: st, enroll: enroll, nc: nc, signer: signer, ingest: ing, log: log, now: now,
		limiter: newLimiter(cfg.LoginAttempts, cfg.LoginWindow),
	}
}

// Config returns the configuration the service runs with.
func (s *Service) Config() Config { return s.cfg }

// Now returns the service's current time.
func (s *Service) Now() time.Time { return s.now() }

// allow returns ErrForbidden unless the actor's role includes need.
func allow(a Actor, need store.Role) error {
	if !a.Role.Allows(need) {
		return ErrForbidden
	}
	return nil
}

// audit writes an audit row; a failure to write it is logged, since the
// action itself has already happened.
func (s *Service) audit(ctx context.Context, a Actor, action, target, detail string, ok bool) {
	e := store.AuditEntry{At: s.now(), Actor: a.Name, Action: action, Target: target, Detail: detail, OK: ok, IP: a.IP}
	if err := s.store.AddAudit(context.WithoutCancel(ctx), e); err != nil {
		s.log.Error("audit row lost", "action", action, "actor", a.Name, "target", target, "err", err)
	}
}

// Audit actions, as stored in the audit log.
const (
	ActionLogin           = "login"
	ActionLoginFailed     = "login_failed"
	ActionLogout          = "logout"
	ActionRevoke          = "revoke"
	ActionErase           = "erase_biometrics"
	ActionGateOpen        = "gate_open"
	ActionGateReload      = "gate_reload"
	ActionConflictResolve = "conflict_resolve"
	ActionSettings        = "settings_save"
	ActionUserAdd         = "user_add"
	ActionUserDisable     = "user_disable"
	ActionUserEnable      = "user_enable"
	ActionExport          = "export"
	ActionDenied          = "denied"
)

// AuditActions lists every action, for the audit page's filter.
func AuditActions() []string {
	return []string{ActionLogin, ActionLoginFailed, ActionLogout, ActionRevoke, ActionErase, ActionGateOpen,
		ActionGateReload, ActionConflictResolve, ActionSettings, ActionUserAdd, ActionUserDisable, ActionUserEnable,
		ActionExport, ActionDenied}
}

// Denied records that a staff member tried something their role does not
// allow.
func (s *Service) Denied(ctx context.Context, a Actor, what string) {
	s.audit(ctx, a, ActionDenied, what, string(a.Role), false)
}

// Audit returns audit rows, newest first, and how many match.
func (s *Service) Audit(ctx context.Context, f store.AuditFilter) ([]store.AuditEntry, int, error) {
	return s.store.Audit(ctx, f)
}

// PruneAdmissions deletes the admissions older than AdmissionsRetention
// and the resolved conflicts as old; it returns how many admissions went.
func (s *Service) PruneAdmissions(ctx context.Context) (int64, error) {
	admissions, conflicts, err := s.store.PruneAdmissions(ctx, s.now().Add(-s.cfg.AdmissionsRetention))
	if admissions > 0 || conflicts > 0 {
		s.log.Info("pruned old admissions", "admissions", admissions, "resolved_conflicts", conflicts,
			"retention", s.cfg.AdmissionsRetention.String())
	}
	return admissions, err
}

// RunHousekeeping deletes expired sessions and prunes old admissions every
// interval until ctx ends.
func (s *Service) RunHousekeeping(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if n, err := s.store.DeleteExpiredSessions(ctx, s.now()); err != nil && ctx.Err() == nil {
			s.log.Error("delete expired sessions", "err", err)
		} else if n > 0 {
			s.log.Info("expired sessions deleted", "count", n)
		}
		if _, err := s.PruneAdmissions(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("prune admissions", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
