package service

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"

	"golang.org/x/crypto/bcrypt"

	"github.com/scenicgate/scenicgate/admin/store"
)

// dummyHash is compared against when the user does not exist, so a login
// for an unknown name takes as long as one for a known name. It is made on
// first use, so commands that never log anyone in do not pay for it.
var dummyHash = sync.OnceValue(func() []byte {
	h, _ := bcrypt.GenerateFromPassword([]byte("scenicgate-no-such-user"), bcrypt.DefaultCost)
	return h
})

// NewToken returns 32 random bytes in URL-safe base64: session ids and CSRF
// tokens.
func NewToken() string {
	b := make([]byte, 32)
	rand.Read(b) // never fails (crypto/rand documents it)
	return base64.RawURLEncoding.EncodeToString(b)
}

// HashSessionID is what the store keeps of a session id.
func HashSessionID(id string) string {
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:])
}

// TokensEqual compares two tokens in constant time; empty never matches.
func TokensEqual(a, b string) bool {
	return a != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// Login checks a name and password from address ip and starts a session. It
// returns the session id for the cookie (only its hash is stored) and the
// session. Refusals are ErrRateLimited (too many attempts from ip),
// ErrLocked (MaxFailures wrong passwords in a row lock the account for
// LockFor; the right password is refused meanwhile) and ErrBadCredentials.
// Each attempt is audited.
func (s *Service) Login(ctx context.Context, name, password, ip string) (string, store.Session, error) {
	now := s.now()
	actor := Actor{Name: truncate(name, 64), IP: ip}
	if !s.limiter.allow(ip, now) {
		s.audit(ctx, actor, ActionLoginFailed, "", "rate limited", false)
		return "", store.Session{}, ErrRateLimited
	}
	u, err := s.store.UserByName(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		bcrypt.CompareHashAndPassword(dummyHash(), []byte(password))
		s.audit(ctx, actor, ActionLoginFailed, "", "unknown user", false)
		return "", store.Session{}, ErrBadCredentials
	}
	if err != nil {
		return "", store.Session{}, err
	}
	actor.Name, actor.Role = u.Name, u.Role
	if now.Before(u.LockedUntil) {
		s.audit(ctx, actor, ActionLoginFailed, u.Name, "locked until "+u.LockedUntil.Format("2006-01-02 15:04:05"), false)
		return "", store.Session{}, ErrLocked
	}
	if bcrypt.CompareHashAndPassword([]byte(u.PasswordHash), []byte(password)) != nil {
		u, err := s.store.RecordLoginFailure(ctx, u.ID, now, s.cfg.MaxFailures, s.cfg.LockFor)
		if err != nil {
			return "", store.Session{}, err
		}
		if now.Before(u.LockedUntil) {
			s.audit(ctx, actor, ActionLoginFailed, u.Name, fmt.Sprintf("wrong password; locked for %v", s.cfg.LockFor), false)
			return "", store.Session{}, ErrLocked
		}
		s.audit(ctx, actor, ActionLoginFailed, u.Name, "wrong password", false)
		return "", store.Session{}, ErrBadCredentials
	}
	if u.Disabled {
		s.audit(ctx, actor, ActionLoginFailed, u.Name, "account disabled", false)
		return "", store.Session{}, ErrBadCredentials
	}
	if err := s.store.RecordLoginSuccess(ctx, u.ID, now); err != nil {
		return "", store.Session{}, err
	}
	id := NewToken()
	ss := store.Session{IDHash: HashSessionID(id), CSRFToken: NewToken(), CreatedAt: now, ExpiresAt: now.Add(s.cfg.SessionTTL), IP: ip, User: u}
	if err := s.store.CreateSession(ctx, ss.IDHash, ss.CSRFToken, u.ID, ip, now, ss.ExpiresAt); err != nil {
		return "", store.Session{}, err
	}
	s.audit(ctx, actor, ActionLogin, u.Name, "", true)
	return id, ss, nil
}

// Authenticate returns the live session for a session id, extending it
// when more than half its lifetime is used; ErrNoSession otherwise.
func (s *Service) Authenticate(ctx context.Context, id string) (store.Session, error) {
	if id == "" {
		return store.Session{}, ErrNoSession
	}
	now := s.now()
	ss, err := s.store.SessionByHash(ctx, HashSessionID(id), now)
	if errors.Is(err, store.ErrNotFound) {
		return store.Session{}, ErrNoSession
	}
	if err != nil {
		return store.Session{}, err
	}
	if ss.ExpiresAt.Sub(now) < s.cfg.SessionTTL/2 {
		ss.ExpiresAt = now.Add(s.cfg.SessionTTL)
		if err := s.store.ExtendSession(ctx, ss.IDHash, ss.ExpiresAt); err != nil {
			return store.Session{}, err
		}
	}
	return ss, nil
}

// SessionLive returns ErrNoSession when a session loaded earlier has ended
// since: logged out, expired, or its user disabled. Unlike Authenticate it
// does not extend the session, so a dashboard left open is not use: its
// session still expires SessionTTL after the last request.
func (s *Service) SessionLive(ctx context.Context, ss store.Session) error {
	_, err := s.store.SessionByHash(ctx, ss.IDHash, s.now())
	if errors.Is(err, store.ErrNotFound) {
		return ErrNoSession
	}
	return err
}

// Logout ends a session.
func (s *Service) Logout(ctx context.Context, a Actor, ss store.Session) error {
	if err := s.store.DeleteSession(ctx, ss.IDHash); err != nil {
		return err
	}
	s.audit(ctx, a, ActionLogout, a.Name, "", true)
	return nil
}

// Flash keeps a message for the session's next page.
func (s *Service) Flash(ctx context.Context, ss store.Session, msg string) error {
	return s.store.SetFlash(ctx, ss.IDHash, msg)
}

// TakeFlash returns and clears the session's message.
func (s *Service) TakeFlash(ctx context.Context, ss store.Session) (string, error) {
	return s.store.TakeFlash(ctx, ss.IDHash)
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) > n {
		return string(r[:n])
	}
	return s
}
