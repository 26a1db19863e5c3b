package service

import (
	"context"
	"fmt"
	"regexp"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"

	"github.com/scenicgate/scenicgate/admin/store"
)

var userName = regexp.MustCompile(`^[\p{L}\p{N}._-]{1,32}$`)

// MinPassword is the shortest password accepted.
const MinPassword = 8

// HashPassword checks a new password's length and hashes it with bcrypt.
func HashPassword(password string) (string, error) {
	if utf8.RuneCountInString(password) < MinPassword {
		return "", ErrWeakPassword
	}
	if len(password) > 72 { // bcrypt reads only the first 72 bytes
		return "", fmt.Errorf("%w (and at most 72 bytes)", ErrWeakPassword)
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
	if err != nil {
		return "", err
	}
	return string(h), nil
}

// CreateUser adds a staff account. Only admins may; the command line passes
// an actor with the Admin role.
func (s *Service) CreateUser(ctx context.Context, a Actor, name string, role store.Role, password string) (store.User, error) {
	if err := allow(a, store.Admin); err != nil {
		return store.User{}, err
	}
	if !userName.MatchString(name) {
		return store.User{}, ErrBadName
	}
	if !role.Valid() {
		return store.User{}, ErrBadRole
	}
	hash, err := HashPassword(password)
	if err != nil {
		return store.User{}, err
	}
	u, err := s.store.CreateUser(ctx, name, role, hash, s.now())
	if err != nil {
		return store.User{}, err
	}
	s.audit(ctx, a, ActionUserAdd, name, string(role), true)
	return u, nil
}

// SetUserDisabled disables (ending their sessions) or re-enables an account.
func (s *Service) SetUserDisabled(ctx context.Context, a Actor, name string, disabled bool) error {
	if err := allow(a, store.Admin); err != nil {
		return err
	}
	if disabled && name == a.Name {
		return ErrSelf
	}
	if err := s.store.SetUserDisabled(ctx, name, disabled); err != nil {
		return err
	}
	action := ActionUserEnable
	if disabled {
		action = ActionUserDisable
	}
	s.audit(ctx, a, action, name, "", true)
	return nil
}

// Users lists the staff accounts.
func (s *Service) Users(ctx context.Context) ([]store.User, error) { return s.store.Users(ctx) }
