package service

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/scenicgate/scenicgate/enroll/store"
	"github.com/scenicgate/scenicgate/models/faces"
)

// dupIndex holds the faces of tickets that can still be used, to spot one
// person enrolled on several orders (resold or shared tickets).
type dupIndex struct {
	mu      sync.RWMutex
	tickets map[string]dupEntry
}

type dupEntry struct {
	orderID string
	until   time.Time
	faces   []faces.Descriptor
}

func loadDupIndex(ctx context.Context, st *store.Store, now time.Time) (*dupIndex, error) {
	active, err := st.ActiveFaces(ctx, now.UnixMilli())
	if err != nil {
		return nil, err
	}
	idx := &dupIndex{tickets: map[string]dupEntry{}}
	for _, a := range active {
		e := idx.tickets[a.TicketID]
		e.orderID = a.OrderID
		e.until = time.UnixMilli(a.ValidUntilMs)
		e.faces = append(e.faces, toDescriptor(a.Descriptor))
		idx.tickets[a.TicketID] = e
	}
	return idx, nil
}

func toDescriptor(v []float32) faces.Descriptor {
	var d faces.Descriptor
	copy(d[:], v)
	return d
}

// set records a ticket's faces as they are now (none once revoked or erased).
func (x *dupIndex) set(t store.Ticket) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if t.Revoked || len(t.Faces) == 0 {
		delete(x.tickets, t.ID)
		return
	}
	e := dupEntry{orderID: t.OrderID, until: t.ValidUntil}
	for _, f := range t.Faces {
		e.faces = append(e.faces, toDescriptor(f.Descriptor))
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
func (x *dupIndex) nearest(d faces.Descriptor, orderID, exceptTicket string, now time.Time) (string, float32) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	best, bestID := float32(-1), ""
	for id, e := range x.tickets {
		if id == exceptTicket || e.orderID == orderID || !e.until.After(now) {
			continue
		}
		for _, f := range e.faces {
			if dist := faces.Distance(d, f); best < 0 || dist < best {
				best, bestID = dist, id
			}
		}
	}
	return bestID, best
}

// checkDuplicates warns about, or with RejectDuplicates refuses, faces that
// match another order's active ticket closer than DuplicateDistance.
func (s *Service) checkDuplicates(found []store.NewFace, orderID, ticketID string) ([]Warning, error) {
	warnings := []Warning{}
	if s.cfg.DuplicateDistance <= 0 {
		return warnings, nil
	}
	for _, f := range found {
		other, dist := s.dups.nearest(toDescriptor(f.Descriptor), orderID, ticketID, s.now())
		if other == "" || dist >= s.cfg.DuplicateDistance {
			continue
		}
		msg := fmt.Sprintf("this face matches active ticket %s of another order (distance %.3f)", other, dist)
		if s.cfg.RejectDuplicates {
			return nil, &Error{Code: CodeDuplicateFace, Message: msg}
		}
		warnings = append(warnings, Warning{Code: CodeDuplicateFace, Message: msg, TicketID: other})
	}
	return warnings, nil
}
