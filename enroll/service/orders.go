package service

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/scenicgate/scenicgate/enroll/store"
	"github.com/scenicgate/scenicgate/internal/qrtoken"
)

// Warning is something the caller should know about a ticket that did not
// stop it from being created, such as a possible duplicate face.
type Warning struct {
	Code     string `json:"code"`
	Message  string `json:"message"`
	TicketID string `json:"ticket_id,omitempty"`
}

// IssuedTicket is a ticket as shown to a caller. QRToken is empty when the
// caller may not see it (a staff key, unless it re-issued the code).
type IssuedTicket struct {
	store.Ticket
	QRToken  string
	Warnings []Warning
}

// OrderResult is the outcome of CreateOrder. Created is false for a replay of
// an order that already exists with the same content.
type OrderResult struct {
	OrderID string
	Created bool
	Tickets []IssuedTicket
}

// CreateOrder turns an order into tickets, one per visitor, each with the
// faces found in its photos; the caller owns the order. It is idempotent by
// order id: a replay of the same content by the same caller returns the same
// tickets with Created false; the same order id with other content, or
// from another caller, fails with code order_conflict, which says no more
// about the other order. Nothing is stored unless every photo of every
// visitor is accepted. Staff keys create no orders.
func (s *Service) CreateOrder(ctx context.Context, c Caller, r OrderRequest) (OrderResult, error) {
	if !c.sells() {
		return OrderResult{}, forbidden("create orders")
	}
	hash := r.Hash()
	// A replay is answered without looking at a single photo.
	if stored, err := s.store.Order(ctx, r.OrderID); err == nil {
		if stored.Hash != hash || stored.Source != c.Actor() {
			return OrderResult{}, storeError(store.ErrOrderConflict)
		}
		return s.existingOrder(ctx, c, r.OrderID)
	} else if !errors.Is(err, store.ErrNotFound) {
		return OrderResult{}, err
	}
	tickets, err := s.validate(r)
	if err != nil {
		return OrderResult{}, err
	}
	now := s.now()
	order := store.NewOrder{OrderID: r.OrderID, RequestHash: hash, Source: c.Actor()}
	warnings := make([][]Warning, len(tickets))
	for i, t := range tickets {
		t.ID = newID("T")
		t.QRTokenID = qrtoken.NewTokenID()
		t.QRIssuedAt = now
		if r.consents(i) {
			t.ConsentAt = now
		}
		found, edge, err := s.readFaces(ctx, fmt.Sprintf("visitors[%d]", i), r.Visitors[i].Photos, nil, now)
		if err != nil {
			return OrderResult{}, err
		}
		dups, err := s.checkDuplicates(found, c, r.OrderID, "")
		if err != nil {
			return OrderResult{}, err
		}
		warnings[i] = append(edge, dups...)
		order.Tickets = append(order.Tickets, store.NewTicket{Ticket: t, Faces: found})
	}
	stored, created, err := s.store.CreateOrder(ctx, order)
	if err != nil {
		return OrderResult{}, storeError(err)
	}
	if !created {
		// Another request with the same content won the race; it is a replay.
		return s.existingOrder(ctx, c, r.OrderID)
	}
	s.changed()
	res := OrderResult{OrderID: r.OrderID, Created: true}
	for i, t := range stored {
		s.dups.set(t)
		issued, err := s.issueFor(c, t)
		if err != nil {
			return OrderResult{}, err
		}
		issued.Warnings = warnings[i]
		res.Tickets = append(res.Tickets, issued)
	}
	s.log.Info("order enrolled", "order", r.OrderID, "tickets", len(stored), "actor", c.Actor())
	return res, nil
}

// existingOrder answers a replay with the order's tickets as they are now.
// They are shown again, QR tokens and all, so the reading is audited.
func (s *Service) existingOrder(ctx context.Context, c Caller, orderID string) (OrderResult, error) {
	stored, err := s.store.OrderTickets(ctx, orderID)
	if err != nil {
		return OrderResult{}, err
	}
	res := OrderResult{OrderID: orderID}
	for _, t := range stored {
		issued, err := s.issueFor(c, t)
		if err != nil {
			return OrderResult{}, err
		}
		res.Tickets = append(res.Tickets, issued)
	}
	if err := s.store.AuditReads(ctx, c.Actor(), "ticket.read", stored, map[string]any{"via": "order replay", "qr_token": true}); err != nil {
		return OrderResult{}, err
	}
	return res, nil
}

// issueFor shows a ticket to c: with its QR token when c may see it.
func (s *Service) issueFor(c Caller, t store.Ticket) (IssuedTicket, error) {
	if !c.seesQR(t) {
		return IssuedTicket{Ticket: t, Warnings: []Warning{}}, nil
	}
	return s.issue(t)
}

// issue attaches the ticket's QR token. Ed25519 signatures are deterministic,
// so the same ticket always gets the same token until it is re-issued.
func (s *Service) issue(t store.Ticket) (IssuedTicket, error) {
	tok, err := s.signer.Sign(qrtoken.Claims{
		TicketID: t.ID, TokenID: t.QRTokenID, IssuedAt: t.QRIssuedAt, Expires: t.ValidUntil,
	})
	if err != nil {
		return IssuedTicket{}, fmt.Errorf("service: sign QR token of %s: %w", t.ID, err)
	}
	return IssuedTicket{Ticket: t, QRToken: tok, Warnings: []Warning{}}, nil
}

// readFaces runs every photo of one visitor through the face engine; the
// first refused photo refuses the request: no face, a blurred one, one
// turned away (see Quality). Then the photos must all show one person, who
// must be the person of the ticket's faces kept (none for a new ticket or a
// replace). A face cut by the photo's edge is accepted with a warning: it
// matches less reliably, and a better photo can replace it. Every face is
// stored with consent, given at consentAt.
func (s *Service) readFaces(ctx context.Context, where string, photos [][]byte, kept []store.Face, consentAt time.Time) ([]store.NewFace, []Warning, error) {
	out := make([]store.NewFace, 0, len(photos))
	warnings := []Warning{}
	for j, photo := range photos {
		at := photoAt(where, j)
		f, err := s.faces.Enroll(ctx, photo)
		if err != nil {
			return nil, nil, photoError(at, err)
		}
		if err := s.checkQuality(at, f); err != nil {
			return nil, nil, err
		}
		if f.TouchesBorder {
			warnings = append(warnings, Warning{Code: CodeFaceAtEdge,
				Message: at + ": the face touches the photo's edge; a photo with the whole face matches better"})
		}
		if f.ImageWarning != "" {
			warnings = append(warnings, Warning{Code: CodeImageRepaired,
				Message: at + ": the image file is damaged but could be read (" + f.ImageWarning + "); a clean copy is better"})
		}
		nf := store.NewFace{ID: newID("F"), Size: f.Size, ConsentAt: consentAt}
		for _, d := range f.Descriptors {
			nf.Descriptors = append(nf.Descriptors, store.Descriptor{Model: d.Model, Alignment: d.Alignment, Values: d.Values})
		}
		if s.cfg.KeepPhotos {
			nf.Photo = &store.Photo{MIME: http.DetectContentType(photo), Data: photo}
		}
		out = append(out, nf)
	}
	if err := s.checkSamePerson(where, out, kept); err != nil {
		return nil, nil, err
	}
	return out, warnings, nil
}

// newID returns prefix and 16 random base32 characters (80 bits): ticket ids
// are read out over the phone and typed by staff, so no lower case and no
// padding.
func newID(prefix string) string {
	b := make([]byte, 10)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on Linux
	}
	return prefix + base32.StdEncoding.EncodeToString(b)
}
