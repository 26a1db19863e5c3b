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
	model   faces.Model
	mu      sync.RWMutex
	tickets map[string]dupEntry
}

type dupEntry struct {
	orderID string
	until   time.Time
	faces   [][]float32
}

func loadDupIndex(ctx context.Context, st *store.Store, model faces.Model, now time.Time) (*dupIndex, error) {
	active, err := st.ActiveFaces(ctx, model.Name, now.UnixMilli())
	if err != nil {
		return nil, err
	}
	idx := &dupIndex{model: model, tickets: map[string]dupEntry{}}
	for _, a := range active {
		e := idx.tickets[a.TicketID]
		e.orderID = a.OrderID
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
	e := dupEntry{orderID: t.OrderID, until: t.ValidUntil}
	if !t.Revoked {
		for _, f := range t.Faces {
			if d := f.Descriptor(x.model.Name); d != nil {
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

// nearest returns the closest face of another order's active ticket.
func (x *dupIndex) nearest(d []float32, orderID, exceptTicket string, now time.Time) (string, float32) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	best, bestID := float32(-1), ""
	for id, e := range x.tickets {
		if id == exceptTicket || e.orderID == orderID || !e.until.After(now) {
			continue
		}
		for _, f := range e.faces {
			if dist := x.model.Distance(d, f); best < 0 || dist < best {
				best, bestID = dist, id
			}
		}
	}
	return bestID, best
}

// checkDuplicates warns about, or with RejectDuplicates refuses, faces that
// match another order's active ticket closer than the duplicate distance.
func (s *Service) checkDuplicates(found []store.NewFace, orderID, ticketID string) ([]Warning, error) {
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
		other, dist := s.dups.nearest(d, orderID, ticketID, s.now())
		if other == "" || dist >= s.dupDistance {
			continue
		}
		msg := fmt.Sprintf("this face matches active ticket %s of another order (%s distance %.3f)", other, s.dupModel.Name, dist)
		if s.cfg.RejectDuplicates {
			return nil, &Error{Code: CodeDuplicateFace, Message: msg}
		}
		warnings = append(warnings, Warning{Code: CodeDuplicateFace, Message: msg, TicketID: other})
	}
	return warnings, nil
}
