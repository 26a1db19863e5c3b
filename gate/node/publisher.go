package node

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/scenicgate/scenicgate/gate/store"
	"github.com/scenicgate/scenicgate/internal/bus"
	"github.com/scenicgate/scenicgate/internal/drain"
)

// publisher sends the outbox to the ADMISSIONS stream, oldest first, each
// with its event id as Nats-Msg-Id: a re-send after a lost acknowledgement is
// dropped by the stream, so every admission arrives exactly once.
//
// Decisions the disk would not take (unrecorded) are written to the outbox
// as soon as it takes them again; until then they are sent straight from
// memory, and written marked published. A full disk may also refuse to mark
// an outbox row published: the row is then remembered as sent (sent), so
// that the rows after it are still sent and it is not sent again while the
// mark waits for the disk.
type publisher struct {
	store      *store.Store
	unrecorded *unrecorded
	js         jetstream.JetStream
	log        *slog.Logger
	wake       drain.Waker
	gate       string
	sent       map[int64]bool // outbox rows published but not yet marked so; only drain uses it
}

// Wake asks for a publish now; it never blocks.
func (p *publisher) Wake() { p.wake.Wake() }

func (p *publisher) run(ctx context.Context) {
	drain.Loop(ctx, p.wake, time.Second, p.drain, p.log, "admissions")
}

func (p *publisher) drain(ctx context.Context) error {
	// The disk may take them again; while it does not, the status says so.
	p.unrecorded.writeTo(ctx, p.store)
	for _, a := range p.unrecorded.unpublished() {
		if err := p.publish(ctx, a.EventID, a.Payload); err != nil {
			return err
		}
		p.unrecorded.published(a.EventID, time.Now())
	}
	var markErr error
	for after := int64(0); ; {
		pending, err := p.store.Unpublished(ctx, after, 100)
		if err != nil {
			return err
		}
		if len(pending) == 0 {
			return markErr
		}
		for _, a := range pending {
			after = a.Seq
			if !p.sent[a.Seq] {
				if err := p.publish(ctx, a.EventID, a.Payload); err != nil {
					return err
				}
			}
			if err := p.store.MarkPublished(ctx, a.Seq, time.Now()); err != nil {
				if p.sent == nil {
					p.sent = map[int64]bool{}
				}
				p.sent[a.Seq] = true
				markErr = cmp.Or(markErr, fmt.Errorf("mark admission %s published: %w", a.EventID, err))
				continue
			}
			delete(p.sent, a.Seq)
		}
	}
}

// publish sends one admission and waits for the stream's acknowledgement.
func (p *publisher) publish(ctx context.Context, eventID string, payload []byte) error {
	pctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if _, err := p.js.Publish(pctx, bus.AdmissionSubject(p.gate), payload, jetstream.WithMsgID(eventID)); err != nil {
		return fmt.Errorf("publish admission %s: %w", eventID, err)
	}
	return nil
}
