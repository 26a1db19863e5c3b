// Package live fans out what happens now — new admissions, fresh day
// figures, gate heartbeats — to the browsers watching the dashboard. It
// keeps nothing: a browser that connects later reads history from the store
// and only then follows the hub.
package live

import (
	"sync"

	"github.com/scenicgate/scenicgate/admin/store"
)

// Stats are the day's figures the dashboard shows, recomputed after every
// change.
type Stats struct {
	Day             string // YYYY-MM-DD, site-local
	Counts          store.DayCounts
	HourlyEntries   []int // allowed entries per hour of the day
	HourlyDenials   []int
	DailyCapacity   int
	InstantCapacity int
	WarnRatio       float64
}

// Event is one thing to tell the browsers. Exactly one field is set.
type Event struct {
	Admission *store.Admission
	Stats     *Stats
	Gate      *store.Gate
}

// Buffer is how many events a subscriber may fall behind before it is
// dropped; its browser reconnects and reloads the page, which reads what it
// missed from the store.
const Buffer = 64

// Hub delivers each published event to every subscriber. It is safe for
// concurrent use; the zero value is not usable, call New.
type Hub struct {
	mu     sync.Mutex
	subs   map[*Subscription]struct{}
	closed bool
}

// New returns an empty hub.
func New() *Hub { return &Hub{subs: map[*Subscription]struct{}{}} }

// Subscription receives events on C until it is cancelled, falls more than
// Buffer events behind, or the hub closes; C is closed then.
type Subscription struct {
	C   <-chan Event
	c   chan Event
	hub *Hub
}

// Subscribe starts a subscription. The caller must Cancel it.
func (h *Hub) Subscribe() *Subscription {
	s := &Subscription{c: make(chan Event, Buffer), hub: h}
	s.C = s.c
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		close(s.c)
		return s
	}
	h.subs[s] = struct{}{}
	return s
}

// Cancel ends the subscription; it may be called more than once.
func (s *Subscription) Cancel() {
	s.hub.mu.Lock()
	defer s.hub.mu.Unlock()
	s.hub.drop(s)
}

// drop must be called with h.mu held.
func (h *Hub) drop(s *Subscription) {
	if _, ok := h.subs[s]; ok {
		delete(h.subs, s)
		close(s.c)
	}
}

// Publish hands ev to every subscriber without waiting: a subscriber whose
// buffer is full is dropped rather than allowed to hold up the others.
func (h *Hub) Publish(ev Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs {
		select {
		case s.c <- ev:
		default:
			h.drop(s)
		}
	}
}

// Subscribers returns how many subscriptions are active.
func (h *Hub) Subscribers() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs)
}

// Close ends every subscription, and later ones at once, so that streaming
// handlers return when the server shuts down. Safe to call twice.
func (h *Hub) Close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for s := range h.subs {
		h.drop(s)
	}
}
