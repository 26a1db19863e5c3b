package node

import (
	"context"
	"errors"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	"github.com/scenicgate/scenicgate/gate/store"
	"github.com/scenicgate/scenicgate/internal/bus"
	"github.com/scenicgate/scenicgate/internal/rules"
	"github.com/scenicgate/scenicgate/proto/sgpb"
)

// ReasonAlreadyInside: anti-passback. The ticket was admitted at an entry
// within the site's passback window and has not left through an exit
// since, so the one person it admits is inside already: a screenshot of
// the QR code, or a photo of the face, does not let in a second.
const ReasonAlreadyInside rules.Reason = "already_inside"

// casTries bounds how often an entry looks again at a ticket's presence
// mark that another gate changed while it decided.
const casTries = 3

// passbackEnter applies anti-passback to an entry the rules allow: it
// refuses a ticket whose holder is inside (out.Allow false, reason
// already_inside) and otherwise marks them inside. It returns a function
// that takes the mark back, for a decision that is refused after all.
//
// Online the mark is a compare-and-set in the PRESENCE bucket, so of two
// gates deciding on one ticket at once only one admits. When NATS or
// JetStream does not answer, the gate judges from what it has seen itself
// and flags the admission offline for review, as it does for claims.
func (n *Node) passbackEnter(ctx context.Context, ticketID, eventID string, out *Outcome) (undo func(context.Context)) {
	undo = func(context.Context) {}
	window := time.Duration(n.site.Settings().PassbackWindow)
	if window <= 0 || ticketID == "" {
		return undo
	}
	now := n.now()
	if n.online() && !n.jetstream.down() {
		inside, restore, err := n.markInside(ctx, ticketID, eventID, window, now)
		if err == nil {
			if inside != nil {
				out.Allow, out.Reason = false, ReasonAlreadyInside
				n.notePresence(ctx, ticketID, store.Presence{Inside: true, At: time.UnixMilli(inside.AtMs)})
				return undo
			}
			n.notePresence(ctx, ticketID, store.Presence{Inside: true, At: now})
			return restore
		}
		n.log.Warn("anti-passback could not be checked in NATS; deciding from what this gate knows", "ticket", ticketID, "err", err)
	}
	out.Offline = true
	if p, ok, err := n.store.Presence(ctx, ticketID); err == nil && ok && p.Inside && now.Sub(p.At) < window {
		out.Allow, out.Reason = false, ReasonAlreadyInside
		return undo
	}
	before, known, _ := n.store.Presence(ctx, ticketID)
	n.notePresence(ctx, ticketID, store.Presence{Inside: true, At: now})
	return func(ctx context.Context) {
		if known {
			n.notePresence(ctx, ticketID, before)
		} else {
			n.notePresence(ctx, ticketID, store.Presence{At: now})
		}
	}
}

// markInside looks up a ticket's presence mark and, unless its holder is
// inside within the window, marks them inside with a compare-and-set. It
// returns the mark that refuses the entry, or nil and a function restoring
// the mark it replaced.
func (n *Node) markInside(ctx context.Context, ticketID, eventID string, window time.Duration, now time.Time) (*sgpb.Presence, func(context.Context), error) {
	kv, err := n.presence(ctx)
	if err != nil {
		return nil, nil, err
	}
	mark, _ := proto.Marshal(&sgpb.Presence{TicketId: ticketID, Inside: true, GateId: n.cfg.ID, AtMs: now.UnixMilli(), EventId: eventID})
	for range casTries {
		cctx, cancel := context.WithTimeout(ctx, n.cfg.ClaimTimeout)
		prev, rev, err := getPresence(cctx, kv, ticketID)
		if err != nil {
			cancel()
			return nil, nil, err
		}
		if prev != nil && prev.Inside && now.Sub(time.UnixMilli(prev.AtMs)) < window {
			cancel()
			return prev, nil, nil
		}
		var newRev uint64
		if rev == 0 {
			newRev, err = kv.Create(cctx, ticketID, mark)
		} else {
			newRev, err = kv.Update(cctx, ticketID, mark, rev)
		}
		cancel()
		switch {
		case err == nil:
			return nil, n.restorePresence(kv, ticketID, prev, newRev), nil
		case errors.Is(err, jetstream.ErrKeyExists), errors.Is(err, jetstream.ErrKeyRevisionMismatch):
			continue // another gate marked it meanwhile: look again
		default:
			return nil, nil, err
		}
	}
	return nil, nil, errors.New("the ticket's presence mark kept changing")
}

// restorePresence returns a function that puts prev back in place of the
// mark written at revision rev, unless that mark has changed since.
func (n *Node) restorePresence(kv jetstream.KeyValue, ticketID string, prev *sgpb.Presence, rev uint64) func(context.Context) {
	return func(ctx context.Context) {
		if prev == nil {
			prev = &sgpb.Presence{TicketId: ticketID, GateId: n.cfg.ID, AtMs: n.now().UnixMilli()}
		}
		b, _ := proto.Marshal(prev)
		cctx, cancel := context.WithTimeout(ctx, n.cfg.ClaimTimeout)
		defer cancel()
		if _, err := kv.Update(cctx, ticketID, b, rev); err != nil {
			n.log.Warn("a presence mark for a refused entry could not be taken back", "ticket", ticketID, "err", err)
		}
		n.notePresence(ctx, ticketID, store.Presence{Inside: prev.Inside, At: time.UnixMilli(prev.AtMs)})
	}
}

// passbackExit marks a ticket's holder outside, so the ticket may enter
// again: in NATS when it answers, and in the gate's own database always.
func (n *Node) passbackExit(ctx context.Context, ticketID, eventID string) {
	if ticketID == "" {
		return
	}
	now := n.now()
	n.notePresence(ctx, ticketID, store.Presence{At: now})
	if !n.online() || n.jetstream.down() {
		return
	}
	kv, err := n.presence(ctx)
	if err == nil {
		b, _ := proto.Marshal(&sgpb.Presence{TicketId: ticketID, GateId: n.cfg.ID, AtMs: now.UnixMilli(), EventId: eventID})
		cctx, cancel := context.WithTimeout(ctx, n.cfg.ClaimTimeout)
		_, err = kv.Put(cctx, ticketID, b)
		cancel()
	}
	if err != nil {
		n.log.Warn("an exit could not be marked in NATS; entry gates may refuse the ticket until the passback window has passed",
			"ticket", ticketID, "err", err)
	}
}

// notePresence records a presence mark in the gate's database, for the
// decisions it makes while NATS is away.
func (n *Node) notePresence(ctx context.Context, ticketID string, p store.Presence) {
	if err := n.store.SetPresence(ctx, ticketID, p); err != nil {
		n.log.Warn("a presence mark could not be written down", "ticket", ticketID, "err", err)
	}
}

// getPresence reads a ticket's mark; revision 0 means there is none.
func getPresence(ctx context.Context, kv jetstream.KeyValue, ticketID string) (*sgpb.Presence, uint64, error) {
	e, err := kv.Get(ctx, ticketID)
	switch {
	case errors.Is(err, jetstream.ErrKeyNotFound):
		return nil, 0, nil
	case err != nil:
		return nil, 0, err
	}
	p := &sgpb.Presence{}
	if err := proto.Unmarshal(e.Value(), p); err != nil {
		// An unreadable mark decides nothing; it is overwritten.
		return nil, e.Revision(), nil
	}
	return p, e.Revision(), nil
}

func (n *Node) presence(ctx context.Context) (jetstream.KeyValue, error) {
	n.kvMu.Lock()
	defer n.kvMu.Unlock()
	if n.kvPresence != nil {
		return n.kvPresence, nil
	}
	cctx, cancel := context.WithTimeout(ctx, n.cfg.ClaimTimeout)
	defer cancel()
	kv, err := n.js.KeyValue(cctx, bus.BucketPresence)
	if err != nil {
		return nil, err
	}
	n.kvPresence = kv
	return kv, nil
}
