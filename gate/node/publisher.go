package node

import (
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
// memory, and written marked published.
type publisher struct {
	store      *store.Store
	unrecorded *unrecorded
	js         jetstream.JetStream
	log        *slog.Logger
	wake       drain.Waker
	gate       string
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
	for {
		pending, err := p.store.Unpublished(ctx, 100)
		if err != nil {
			return err
		}
		if len(pending) == 0 {
			return nil
		}
		for _, a := range pending {
			if err := p.publish(ctx, a.EventID, a.Payload); err != nil {
				return err
			}
			if err := p.store.MarkPublished(ctx, a.Seq, time.Now()); err != nil {
				return err
			}
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
