package service

import (
	"context"
	"errors"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/scenicgate/scenicgate/admin/enrollclient"
	"github.com/scenicgate/scenicgate/admin/store"
	"github.com/scenicgate/scenicgate/proto/sgpb"
)

// MaxReason is the longest reason staff may type; enroll allows 200
// characters and admin adds the staff member's name.
const MaxReason = 150

// cleanReason trims a reason and checks it is there and short enough.
func cleanReason(reason string) (string, error) {
	reason = strings.TrimSpace(reason)
	if reason == "" {
		return "", ErrReasonRequired
	}
	if utf8.RuneCountInString(reason) > MaxReason {
		return "", ErrReasonTooLong
	}
	return reason, nil
}

// withStaff appends the staff member to a reason sent to enroll, so enroll's
// own audit log shows who acted, not only admin's API key.
func withStaff(a Actor, reason string) string {
	return reason + " [staff: " + a.Name + "]"
}

// SearchTickets asks enroll for tickets matching q (ticket id, order id,
// name or phone suffix). An empty q gives an empty page.
func (s *Service) SearchTickets(ctx context.Context, q string, page int) (enrollclient.Page, error) {
	q = strings.TrimSpace(q)
	if q == "" {
		return enrollclient.Page{Tickets: []enrollclient.Ticket{}}, nil
	}
	return s.enroll.Search(ctx, q, page, 50)
}

// TicketDetail is a ticket with what admin knows of it.
type TicketDetail struct {
	Ticket     enrollclient.Ticket
	Admissions []store.Admission
	// Mirror is the entitlement the gates have, nil when admin has not
	// seen it (yet).
	Mirror *store.Entitlement
	// FaceModels are the models the ticket's faces were described with.
	FaceModels []string
	// MissingModels are the models gates match with that no face of the
	// ticket was described by, each with the gates using it: there the
	// visitor cannot be recognised and comes in by QR code.
	MissingModels []MissingModel
	// Presence is the ticket's anti-passback mark (nil: none);
	// PresenceUnknown says NATS could not be asked.
	Presence        *sgpb.Presence
	PresenceUnknown bool
}

// MissingModel is a model gates match with that a ticket's faces lack.
type MissingModel struct {
	Model string
	Gates []string
}

// Ticket returns a ticket from enroll with its admissions from admin's
// store.
func (s *Service) Ticket(ctx context.Context, id string) (TicketDetail, error) {
	t, err := s.enroll.Ticket(ctx, id)
	if err != nil {
		return TicketDetail{}, err
	}
	d := TicketDetail{Ticket: t}
	if d.Admissions, err = s.store.TicketAdmissions(ctx, id); err != nil {
		return TicketDetail{}, err
	}
	e, err := s.store.Entitlement(ctx, id)
	switch {
	case err == nil:
		d.Mirror = &e
	case !errors.Is(err, store.ErrNotFound):
		return TicketDetail{}, err
	}
	for _, f := range t.Faces {
		for _, m := range f.Models {
			if !slices.Contains(d.FaceModels, m) {
				d.FaceModels = append(d.FaceModels, m)
			}
		}
	}
	if len(t.Faces) > 0 {
		if d.MissingModels, err = s.missingModels(ctx, d.FaceModels); err != nil {
			return TicketDetail{}, err
		}
	}
	if d.Presence, err = s.Presence(ctx, id); err != nil {
		s.log.Warn("the ticket's presence mark could not be read", "ticket", id, "err", err)
		d.PresenceUnknown = true
	}
	return d, nil
}

// missingModels lists the models gates match with that are not in have.
func (s *Service) missingModels(ctx context.Context, have []string) ([]MissingModel, error) {
	gates, err := s.store.Gates(ctx)
	if err != nil {
		return nil, err
	}
	var out []MissingModel
	for _, g := range gates {
		if g.FaceModel == "" || slices.Contains(have, g.FaceModel) {
			continue
		}
		i := slices.IndexFunc(out, func(m MissingModel) bool { return m.Model == g.FaceModel })
		if i < 0 {
			out = append(out, MissingModel{Model: g.FaceModel})
			i = len(out) - 1
		}
		out[i].Gates = append(out[i].Gates, g.ID)
	}
	return out, nil
}

// RevokeTicket revokes a ticket in enroll (for a refund, say). Operators
// and admins only.
func (s *Service) RevokeTicket(ctx context.Context, a Actor, id, reason string) (enrollclient.Ticket, error) {
	if err := allow(a, store.Operator); err != nil {
		return enrollclient.Ticket{}, err
	}
	reason, err := cleanReason(reason)
	if err != nil {
		return enrollclient.Ticket{}, err
	}
	t, err := s.enroll.Revoke(ctx, id, withStaff(a, reason))
	if err != nil {
		s.audit(ctx, a, ActionRevoke, id, reason+": "+err.Error(), false)
		return enrollclient.Ticket{}, err
	}
	s.audit(ctx, a, ActionRevoke, id, reason, true)
	return t, nil
}

// EraseBiometrics deletes a ticket's face data in enroll; the ticket still
// admits by QR code. Operators and admins only.
func (s *Service) EraseBiometrics(ctx context.Context, a Actor, id, reason string) (enrollclient.Ticket, error) {
	if err := allow(a, store.Operator); err != nil {
		return enrollclient.Ticket{}, err
	}
	reason, err := cleanReason(reason)
	if err != nil {
		return enrollclient.Ticket{}, err
	}
	t, err := s.enroll.EraseBiometrics(ctx, id, withStaff(a, reason))
	if err != nil {
		s.audit(ctx, a, ActionErase, id, reason+": "+err.Error(), false)
		return enrollclient.Ticket{}, err
	}
	s.audit(ctx, a, ActionErase, id, reason, true)
	return t, nil
}
