package service

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/scenicgate/scenicgate/enroll/store"
	"github.com/scenicgate/scenicgate/models/faces"
)

// dupIndex holds the faces of tickets that can still be used, by one model,
// to spot one person enrolled on several orders (resold or shared tickets).
type dupIndex struct {
	model     faces.Model
	alignment string
	mu        sync.RWMutex
	tickets   map[string]dupEntry
}

type dupEntry struct {
	orderID string
	source  string // who created the order, see store.Ticket.Source
	until   time.Time
	faces   [][]float32
}

func loadDupIndex(ctx context.Context, st *store.Store, model faces.Model, alignment string, now time.Time) (*dupIndex, error) {
	active, err := st.ActiveFaces(ctx, model.Name, alignment, now.UnixMilli())
	if err != nil {
		return nil, err
	}
	idx := &dupIndex{model: model, alignment: alignment, tickets: map[string]dupEntry{}}
	for _, a := range active {
		e := idx.tickets[a.TicketID]
		e.orderID, e.source = a.OrderID, a.Source
		e.until = time.UnixMilli(a.ValidUntilMs)
		e.faces = append(e.faces, a.Descriptor)
		idx.tickets[a.TicketID] = e
	}
	return idx, nil
}

// set records a ticket's faces as they are now (none once revoked or erased).
func (x *dupIndex) set(t store.Ticket) {
	x.mu.Lock()
	defer x.mu.Unlock()
	e := dupEntry{orderID: t.OrderID, source: t.Source, until: t.ValidUntil}
	if !t.Revoked {
		for _, f := range t.Faces {
			if d := f.Descriptor(x.model.Name, x.alignment); d != nil {
				e.faces = append(e.faces, d)
			}
		}
	}
	if len(e.faces) == 0 {
		delete(x.tickets, t.ID)
		return
	}
	x.tickets[t.ID] = e
}

func (x *dupIndex) dropEnded(before time.Time) {
	x.mu.Lock()
	defer x.mu.Unlock()
	for id, e := range x.tickets {
		if !e.until.After(before) {
			delete(x.tickets, id)
		}
	}
}

// nearest returns the closest face of another order's active ticket: the
// ticket's id, its order's source and the distance.
func (x *dupIndex) nearest(d []float32, orderID, exceptTicket string, now time.Time) (string, string, float32) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	best, bestID, bestSource := float32(-1), "", ""
	for id, e := range x.tickets {
		if id == exceptTicket || e.orderID == orderID || !e.until.After(now) {
			continue
		}
		for _, f := range e.faces {
			if dist := x.model.Distance(d, f); best < 0 || dist < best {
				best, bestID, bestSource = dist, id, e.source
			}
		}
	}
	return bestID, bestSource, best
}

// checkDuplicates warns about, or with RejectDuplicates refuses, faces that
// match another order's active ticket closer than the duplicate distance.
// The other ticket is named only when c may see it: a shop learns that a
// face matches some other shop's ticket, never which one, so no key can
// look a face up.
func (s *Service) checkDuplicates(found []store.NewFace, c Caller, orderID, ticketID string) ([]Warning, error) {
	warnings := []Warning{}
	if s.dupDistance < 0 {
		return warnings, nil
	}
	for _, f := range found {
		var d []float32
		for _, fd := range f.Descriptors {
			if fd.Model == s.dupModel.Name {
				d = fd.Values
			}
		}
		if d == nil {
			continue
		}
		other, source, dist := s.dups.nearest(d, orderID, ticketID, s.now())
		if other == "" || dist >= s.dupDistance {
			continue
		}
		w := Warning{Code: CodeDuplicateFace}
		if c.sees(store.Ticket{ID: other, Source: source}) {
			w.TicketID = other
			w.Message = fmt.Sprintf("this face matches active ticket %s of another order (%s distance %.3f)", other, s.dupModel.Name, dist)
		} else {
			w.Message = fmt.Sprintf("this face matches an active ticket of another shop (%s distance %.3f)", s.dupModel.Name, dist)
		}
		if s.cfg.RejectDuplicates {
			return nil, &Error{Code: CodeDuplicateFace, Message: w.Message}
		}
		warnings = append(warnings, w)
	}
	return warnings, nil
}
