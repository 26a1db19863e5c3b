package service

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/scenicgate/scenicgate/enroll/store"
	"github.com/scenicgate/scenicgate/internal/qrtoken"
	"github.com/scenicgate/scenicgate/internal/rules"
	"github.com/scenicgate/scenicgate/models/faces"
)

// visible loads a ticket that exists for c: one it may not see gives the
// same not_found as one that does not exist.
func (s *Service) visible(ctx context.Context, c Caller, id string) (store.Ticket, error) {
	t, err := s.store.Ticket(ctx, id)
	if err != nil {
		return store.Ticket{}, storeError(err)
	}
	if !c.sees(t) {
		return store.Ticket{}, notFound()
	}
	return t, nil
}

// Ticket returns a ticket as c may see it, with its QR token when c is the
// shop that sold it. The reading is audited.
func (s *Service) Ticket(ctx context.Context, c Caller, id string) (IssuedTicket, error) {
	t, err := s.visible(ctx, c, id)
	if err != nil {
		return IssuedTicket{}, err
	}
	issued, err := s.issueFor(c, t)
	if err != nil {
		return IssuedTicket{}, err
	}
	detail := map[string]any{"qr_token": issued.QRToken != ""}
	if err := s.store.AuditReads(ctx, c.Actor(), "ticket.read", []store.Ticket{t}, detail); err != nil {
		return IssuedTicket{}, err
	}
	return issued, nil
}

// SearchQuery filters Search.
type SearchQuery struct {
	OrderID string
	Text    string // ticket id, order id, name prefix or phone suffix
	ValidOn string // YYYY-MM-DD: tickets valid on that site-local day
	Page    int    // from 1
	PerPage int
}

// Search returns one page of the tickets c may see and the number of
// matches in all. Every ticket shown is audited as read by c, and a search
// that found nothing is audited too.
func (s *Service) Search(ctx context.Context, c Caller, q SearchQuery) ([]store.Ticket, int, error) {
	if q.Page < 1 {
		q.Page = 1
	}
	if q.PerPage < 1 || q.PerPage > 200 {
		q.PerPage = 50
	}
	q.Text = strings.TrimSpace(q.Text)
	if n := utf8.RuneCountInString(q.Text); n > MaxQueryLength {
		return nil, 0, refuse(CodeFieldTooLong, "q has %d characters; at most %d", n, MaxQueryLength)
	}
	if len(q.OrderID) > 128 {
		return nil, 0, refuse(CodeFieldTooLong, "order has %d characters; at most 128", len(q.OrderID))
	}
	sq := store.TicketQuery{OrderID: q.OrderID, Text: q.Text, Limit: q.PerPage, Offset: (q.Page - 1) * q.PerPage}
	switch {
	case c.system || c.Scope == store.ScopeStaff:
	case c.Scope == store.ScopeShop:
		sq.Source = c.Actor()
	default:
		return []store.Ticket{}, 0, nil
	}
	if q.ValidOn != "" {
		d, err := rules.ParseDate(q.ValidOn)
		if err != nil {
			return nil, 0, invalid("valid_on must be a date YYYY-MM-DD (got %q)", q.ValidOn)
		}
		sq.ValidOnStart = s.cfg.Site.StartOfDay(d)
		sq.ValidOnEnd = s.cfg.Site.StartOfDay(d.AddDays(1))
	}
	tickets, total, err := s.store.SearchTickets(ctx, sq)
	if err != nil {
		return nil, 0, err
	}
	detail := map[string]any{"q": q.Text, "order": q.OrderID, "valid_on": q.ValidOn, "page": q.Page, "total": total}
	if err := s.store.AuditReads(ctx, c.Actor(), "ticket.search", tickets, detail); err != nil {
		return nil, 0, err
	}
	return tickets, total, nil
}

// AddFaces adds the faces in photos to a ticket, or replaces its faces with
// them. consent must be true: adding a face is a new processing of face data,
// and each face records the consent it was added with. Only the shop that
// sold the ticket adds faces, and only while the ticket has not ended.
func (s *Service) AddFaces(ctx context.Context, c Caller, id string, photos [][]byte, replace, consent bool) (IssuedTicket, []Warning, error) {
	if !c.sells() {
		return IssuedTicket{}, nil, forbidden("add faces")
	}
	t, err := s.visible(ctx, c, id)
	if err != nil {
		return IssuedTicket{}, nil, err
	}
	if len(photos) == 0 {
		return IssuedTicket{}, nil, invalid("send at least one photo")
	}
	var kept []store.Face
	if !replace {
		kept = t.Faces
	}
	if err := s.tooManyPhotos("photos", len(photos)+len(kept)); err != nil {
		return IssuedTicket{}, nil, err
	}
	if !consent {
		return IssuedTicket{}, nil, &Error{Code: CodeConsentRequired, Message: "face data needs the visitor's explicit consent: send consent=true"}
	}
	now := s.now()
	switch {
	case t.Revoked:
		return IssuedTicket{}, nil, storeError(store.ErrRevoked)
	case !t.PurgedAt.IsZero():
		return IssuedTicket{}, nil, &Error{Code: CodeTicketEnded, Message: "the ticket has ended and its data was purged; it takes no faces", Err: store.ErrEnded}
	case !t.ValidUntil.After(now):
		return IssuedTicket{}, nil, &Error{Code: CodeTicketEnded, Message: "the ticket ended at " + t.ValidUntil.Format(time.RFC3339) + "; it takes no faces", Err: store.ErrEnded}
	}
	found, warnings, err := s.readFaces(ctx, "", photos, kept, now)
	if err != nil {
		return IssuedTicket{}, nil, err
	}
	dups, err := s.checkDuplicates(found, c, t.OrderID, id)
	if err != nil {
		return IssuedTicket{}, nil, err
	}
	warnings = append(warnings, dups...)
	t, err = s.store.SetFaces(ctx, id, found, replace, c.Actor())
	if err != nil {
		return IssuedTicket{}, nil, storeError(err)
	}
	s.changed()
	s.dups.set(t)
	if replace {
		s.scrub(ctx)
	}
	issued, err := s.issueFor(c, t)
	return issued, warnings, err
}

// Revoke revokes a ticket (a refund, a cancelled visit); with the default
// policy its faces are erased at the same time.
func (s *Service) Revoke(ctx context.Context, c Caller, id, reason string) (IssuedTicket, error) {
	reason = strings.TrimSpace(reason)
	if reason == "" {
		return IssuedTicket{}, invalid("a revoke needs a reason")
	}
	if n := utf8.RuneCountInString(reason); n > MaxReasonLength {
		return IssuedTicket{}, refuse(CodeFieldTooLong, "reason has %d characters; at most %d", n, MaxReasonLength)
	}
	if _, err := s.visible(ctx, c, id); err != nil {
		return IssuedTicket{}, err
	}
	t, err := s.store.Revoke(ctx, id, reason, c.Actor(), s.cfg.EraseOnRevoke)
	if err != nil {
		return IssuedTicket{}, storeError(err)
	}
	s.changed()
	s.dups.set(t)
	if s.cfg.EraseOnRevoke {
		s.scrub(ctx)
	}
	return s.issueFor(c, t)
}

// EraseBiometrics deletes a ticket's face data at the visitor's request; the
// ticket still admits by QR code.
func (s *Service) EraseBiometrics(ctx context.Context, c Caller, id, why string) (IssuedTicket, error) {
	if n := utf8.RuneCountInString(why); n > MaxReasonLength {
		return IssuedTicket{}, refuse(CodeFieldTooLong, "reason has %d characters; at most %d", n, MaxReasonLength)
	}
	if _, err := s.visible(ctx, c, id); err != nil {
		return IssuedTicket{}, err
	}
	t, err := s.store.EraseBiometrics(ctx, id, c.Actor(), why)
	if err != nil {
		return IssuedTicket{}, storeError(err)
	}
	s.changed()
	s.dups.set(t)
	s.scrub(ctx)
	return s.issueFor(c, t)
}

// ReissueQR gives a ticket a new QR code and returns it with its token,
// whoever may see the ticket asks: this is how staff hand a visitor a new
// code. Once published, every gate refuses the old code as invalid_qr.
// Revoked and ended tickets get none.
func (s *Service) ReissueQR(ctx context.Context, c Caller, id, why string) (IssuedTicket, error) {
	why = strings.TrimSpace(why)
	if n := utf8.RuneCountInString(why); n > MaxReasonLength {
		return IssuedTicket{}, refuse(CodeFieldTooLong, "reason has %d characters; at most %d", n, MaxReasonLength)
	}
	t, err := s.visible(ctx, c, id)
	if err != nil {
		return IssuedTicket{}, err
	}
	if !t.Revoked && !t.ValidUntil.After(s.now()) {
		return IssuedTicket{}, &Error{Code: CodeTicketEnded, Message: "the ticket has ended; it gets no new QR code", Err: store.ErrEnded}
	}
	t, err = s.store.ReissueQR(ctx, id, qrtoken.NewTokenID(), c.Actor(), why)
	if err != nil {
		return IssuedTicket{}, storeError(err)
	}
	s.changed()
	s.log.Info("QR code re-issued", "ticket", id, "actor", c.Actor())
	return s.issue(t)
}

// TicketAudit returns the audit log of a ticket c may see, newest first.
func (s *Service) TicketAudit(ctx context.Context, c Caller, id string, limit int) ([]store.AuditEntry, error) {
	if _, err := s.visible(ctx, c, id); err != nil {
		return nil, err
	}
	return s.store.Audit(ctx, id, limit)
}

// scrub empties the database's write-ahead log after face data was erased,
// so the erased descriptors survive nowhere. A failure is logged, not
// returned: the erase itself is done, and the purge job scrubs again.
func (s *Service) scrub(ctx context.Context) {
	if err := s.store.Scrub(ctx); err != nil {
		s.log.Warn("erased face data may linger in the database log until the next purge run", "err", err)
	}
}

// PurgeEnded erases the faces of every ticket that ended more than the
// retention period ago and removes them from the gates, however many are
// due; then it empties the database's write-ahead log. It returns how many
// it purged.
func (s *Service) PurgeEnded(ctx context.Context) (int, error) {
	cutoff := s.now().Add(-s.cfg.Retention)
	n, err := s.store.PurgeEnded(ctx, cutoff, "system:purge")
	if n > 0 {
		s.changed()
		s.dups.dropEnded(cutoff)
		s.log.Info("purged ended tickets", "count", n)
	}
	// Every run, not only one that purged: it also catches up on a scrub
	// that readers held up after an erase.
	s.scrub(ctx)
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
// its descriptor, aligned as the face reader aligns, and whose photo was
// kept (--keep-photos), so that gates matching with a model the site added
// later, or finding faces with another detector, recognise visitors
// enrolled before. A descriptor of the other alignment stays, for gates not
// yet moved. Each ticket changed is published again. The face reader must
// run model.
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
	alignment := s.faces.Alignment(m.Name)
	todo, err := s.store.FacesLacking(ctx, m.Name, alignment, now)
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
		t, err := s.store.AddDescriptor(ctx, f.TicketID, f.FaceID, store.Descriptor{Model: m.Name, Alignment: alignment, Values: values}, actor)
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
	_, r.WithoutPhoto, err = s.store.CountFacesLacking(ctx, m.Name, alignment, now)
	return r, err
}
