package service

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/scenicgate/scenicgate/enroll/store"
	"github.com/scenicgate/scenicgate/internal/rules"
	"github.com/scenicgate/scenicgate/models/faces"
)

// Ticket returns a ticket with its QR token.
func (s *Service) Ticket(ctx context.Context, id string) (IssuedTicket, error) {
	t, err := s.store.Ticket(ctx, id)
	if err != nil {
		return IssuedTicket{}, storeError(err)
	}
	return s.issue(t)
}

// SearchQuery filters Search.
type SearchQuery struct {
	OrderID string
	Text    string // ticket id, order id, name prefix or phone suffix
	ValidOn string // YYYY-MM-DD: tickets valid on that site-local day
	Page    int    // from 1
	PerPage int
}

// Search returns one page of tickets and the number of matches in all.
func (s *Service) Search(ctx context.Context, q SearchQuery) ([]store.Ticket, int, error) {
	if q.Page < 1 {
		q.Page = 1
	}
	if q.PerPage < 1 || q.PerPage > 200 {
		q.PerPage = 50
	}
	sq := store.TicketQuery{OrderID: q.OrderID, Text: strings.TrimSpace(q.Text), Limit: q.PerPage, Offset: (q.Page - 1) * q.PerPage}
	if q.ValidOn != "" {
		d, err := rules.ParseDate(q.ValidOn)
		if err != nil {
			return nil, 0, invalid("valid_on must be a date YYYY-MM-DD (got %q)", q.ValidOn)
		}
		sq.ValidOnStart = s.cfg.Site.StartOfDay(d)
		sq.ValidOnEnd = s.cfg.Site.StartOfDay(d.AddDays(1))
	}
	return s.store.SearchTickets(ctx, sq)
}

// AddFaces adds the faces in photos to a ticket, or replaces its faces with
// them. consent must be true: adding a face is a new processing of face data.
func (s *Service) AddFaces(ctx context.Context, actor, id string, photos [][]byte, replace, consent bool) (IssuedTicket, []Warning, error) {
	if len(photos) == 0 {
		return IssuedTicket{}, nil, invalid("send at least one photo")
	}
	if len(photos) > s.cfg.MaxPhotos {
		return IssuedTicket{}, nil, invalid("at most %d photos per request", s.cfg.MaxPhotos)
	}
	if !consent {
		return IssuedTicket{}, nil, &Error{Code: CodeConsentRequired, Message: "face data needs the visitor's explicit consent: send consent=true"}
	}
	t, err := s.store.Ticket(ctx, id)
	if err != nil {
		return IssuedTicket{}, nil, storeError(err)
	}
	if t.Revoked {
		return IssuedTicket{}, nil, storeError(store.ErrRevoked)
	}
	found, warnings, err := s.readFaces(ctx, "photos", photos)
	if err != nil {
		return IssuedTicket{}, nil, err
	}
	dups, err := s.checkDuplicates(found, t.OrderID, id)
	if err != nil {
		return IssuedTicket{}, nil, err
	}
	warnings = append(warnings, dups...)
	t, err = s.store.SetFaces(ctx, id, found, replace, actor)
	if err != nil {
		return IssuedTicket{}, nil, storeError(err)
	}
	s.changed()
	s.dups.set(t)
	issued, err := s.issue(t)
	return issued, warnings, err
}

// Revoke revokes a ticket (a refund, a cancelled visit); with the default
// policy its faces are erased at the same time.
func (s *Service) Revoke(ctx context.Context, actor, id, reason string) (IssuedTicket, error) {
	reason = strings.TrimSpace(reason)
	if reason == "" || len([]rune(reason)) > 200 {
		return IssuedTicket{}, invalid("a revoke needs a reason of at most 200 characters")
	}
	t, err := s.store.Revoke(ctx, id, reason, actor, s.cfg.EraseOnRevoke)
	if err != nil {
		return IssuedTicket{}, storeError(err)
	}
	s.changed()
	s.dups.set(t)
	return s.issue(t)
}

// EraseBiometrics deletes a ticket's face data at the visitor's request; the
// ticket still admits by QR code.
func (s *Service) EraseBiometrics(ctx context.Context, actor, id, why string) (IssuedTicket, error) {
	t, err := s.store.EraseBiometrics(ctx, id, actor, why)
	if err != nil {
		return IssuedTicket{}, storeError(err)
	}
	s.changed()
	s.dups.set(t)
	return s.issue(t)
}

// PurgeEnded erases the faces of tickets that ended more than the retention
// period ago and removes them from the gates. It returns how many it purged.
func (s *Service) PurgeEnded(ctx context.Context) (int, error) {
	n, err := s.store.PurgeEnded(ctx, s.now().Add(-s.cfg.Retention), "system:purge")
	if n > 0 {
		s.changed()
		s.dups.dropEnded(s.now().Add(-s.cfg.Retention))
		s.log.Info("purged ended tickets", "count", n)
	}
	return n, err
}

// RunPurge purges every interval until ctx ends.
func (s *Service) RunPurge(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if _, err := s.PurgeEnded(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("purge failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Audit returns the audit log of a ticket, or of everything for "".
func (s *Service) Audit(ctx context.Context, ticketID string, limit int) ([]store.AuditEntry, error) {
	return s.store.Audit(ctx, ticketID, limit)
}

// Recomputed says what Recompute did.
type Recomputed struct {
	// Described faces got the model's descriptor; Failed faces' photos gave
	// no face to the model (each logged).
	Described, Failed int
	// WithoutPhoto faces still lack the descriptor: no photo was kept, so
	// only enrolling again can describe them.
	WithoutPhoto int
}

// Recompute describes with model every face of a usable ticket that lacks
// its descriptor and whose photo was kept (--keep-photos), so that gates
// matching with a model the site added later recognise visitors enrolled
// before. Each ticket changed is published again. The face reader must run
// model.
func (s *Service) Recompute(ctx context.Context, model, actor string) (Recomputed, error) {
	var r Recomputed
	m, err := faces.Lookup(model)
	if err != nil {
		return r, err
	}
	if !slices.Contains(s.Models(), m.Name) {
		return r, fmt.Errorf("service: recompute: the face engine does not run %s", m.Name)
	}
	now := s.now().UnixMilli()
	todo, err := s.store.FacesLacking(ctx, m.Name, now)
	if err != nil {
		return r, err
	}
	for _, f := range todo {
		found, err := s.faces.Enroll(ctx, f.Photo.Data)
		values := found.Descriptor(m.Name)
		if err != nil || values == nil {
			r.Failed++
			s.log.Warn("a kept photo gave no face to describe", "ticket", f.TicketID, "face", f.FaceID, "model", m.Name, "err", err)
			continue
		}
		t, err := s.store.AddDescriptor(ctx, f.TicketID, f.FaceID, store.Descriptor{Model: m.Name, Values: values}, actor)
		if errors.Is(err, store.ErrNotFound) {
			continue // erased or revoked meanwhile
		}
		if err != nil {
			return r, err
		}
		s.dups.set(t)
		s.changed()
		r.Described++
	}
	_, r.WithoutPhoto, err = s.store.CountFacesLacking(ctx, m.Name, now)
	return r, err
}
