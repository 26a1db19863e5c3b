package node

import (
	"context"
	"encoding/base64"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/scenicgate/scenicgate/gate/store"
	"github.com/scenicgate/scenicgate/internal/sqlitedb"
)

// unrecorded holds the decisions the gate's disk would not take (a full
// disk), until it does. The publisher sends them straight to NATS and
// writes them to the outbox once a write works again; they count towards
// a ticket's use meanwhile. It is safe for concurrent use.
type unrecorded struct {
	mu    sync.Mutex
	held  []heldAdmission
	err   error     // the last failed write; nil once one works
	since time.Time // when writes began to fail
}

type heldAdmission struct {
	store.Admission
	// published: NATS acknowledged it (Published is then set).
	published bool
}

// hold keeps a, which the disk refused with err.
func (u *unrecorded) hold(a store.Admission, err error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.held = append(u.held, heldAdmission{Admission: a})
	if u.err == nil {
		u.since = time.Now()
	}
	u.err = err
}

// wrote records that a write worked.
func (u *unrecorded) wrote() {
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.held) == 0 {
		u.err = nil
	}
}

// failing reports whether the gate cannot record decisions now.
func (u *unrecorded) failing() bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.err != nil
}

// usage counts the allowed entries of a ticket held in memory, in all and
// on day.
func (u *unrecorded) usage(ticketID, day string) (entries, today int) {
	u.mu.Lock()
	defer u.mu.Unlock()
	for _, h := range u.held {
		if h.TicketID == ticketID && h.Allowed && h.Entry {
			entries++
			if h.Day == day {
				today++
			}
		}
	}
	return entries, today
}

// unpublished returns copies of the held admissions NATS has not
// acknowledged yet, oldest first.
func (u *unrecorded) unpublished() []store.Admission {
	u.mu.Lock()
	defer u.mu.Unlock()
	var out []store.Admission
	for _, h := range u.held {
		if !h.published {
			out = append(out, h.Admission)
		}
	}
	return out
}

// published records that NATS acknowledged the held admission eventID.
func (u *unrecorded) published(eventID string, at time.Time) {
	u.mu.Lock()
	defer u.mu.Unlock()
	for i := range u.held {
		if u.held[i].EventID == eventID {
			u.held[i].published, u.held[i].Published = true, at
		}
	}
}

// writeTo writes the held admissions to st, oldest first, until one fails,
// and forgets those written. It returns how many are left.
func (u *unrecorded) writeTo(ctx context.Context, st *store.Store) (int, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	for len(u.held) > 0 {
		if err := st.AddAdmission(ctx, u.held[0].Admission); err != nil {
			u.err = err
			return len(u.held), err
		}
		u.held = u.held[1:]
	}
	u.err = nil
	return 0, nil
}

// fault describes the state for the gate's status, "" when all is well.
func (u *unrecorded) fault(now time.Time) string {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.err == nil {
		return ""
	}
	what := "cannot write"
	if sqlitedb.DiskFull(u.err) {
		what = "full"
	}
	sent := 0
	for _, h := range u.held {
		if h.published {
			sent++
		}
	}
	return fmt.Sprintf("disk: %s for %v (%v): %d decisions held in memory, %d of them sent to NATS",
		what, now.Sub(u.since).Round(time.Second), u.err, len(u.held), sent)
}

// report logs, at ERROR, every decision still held: the gate is stopping
// and they are written nowhere on its disk. Those NATS acknowledged are in
// the ADMISSIONS stream; the others are lost but for this log.
func (u *unrecorded) report(log *slog.Logger) {
	u.mu.Lock()
	defer u.mu.Unlock()
	for _, h := range u.held {
		log.Error("decision never written to the gate's disk",
			"event", h.EventID, "ticket", h.TicketID, "allow", h.Allowed, "entry", h.EntryNumber,
			"at", h.At, "offline", h.Offline, "in_nats", h.published,
			"admission", base64.StdEncoding.EncodeToString(h.Payload))
	}
}
