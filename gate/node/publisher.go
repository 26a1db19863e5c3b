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
type publisher struct {
	store *store.Store
	js    jetstream.JetStream
	log   *slog.Logger
	wake  drain.Waker
	gate  string
}

// Wake asks for a publish now; it never blocks.
func (p *publisher) Wake() { p.wake.Wake() }

func (p *publisher) run(ctx context.Context) {
	drain.Loop(ctx, p.wake, time.Second, p.drain, p.log, "admissions")
}

func (p *publisher) drain(ctx context.Context) error {
	for {
		pending, err := p.store.Unpublished(ctx, 100)
		if err != nil {
			return err
		}
		if len(pending) == 0 {
			return nil
		}
		for _, a := range pending {
			pctx, cancel := context.WithTimeout(ctx, 3*time.Second)
			_, err := p.js.Publish(pctx, bus.AdmissionSubject(p.gate), a.Payload, jetstream.WithMsgID(a.EventID))
			cancel()
			if err != nil {
				return fmt.Errorf("publish admission %s: %w", a.EventID, err)
			}
			if err := p.store.MarkPublished(ctx, a.Seq, time.Now()); err != nil {
				return err
			}
		}
	}
}
