// Package publish sends enroll's committed ticket changes from the SQLite
// outbox to the ENTITLEMENTS bucket, so every gate learns of them.
//
// It is the only writer of the bucket, and signs every value with enroll's
// key (internal/signed), so a gate can tell an entitlement from a forgery. It publishes each ticket's state as it
// is at publishing time, so several queued changes to one ticket become one
// put, and a change is only removed from the outbox once NATS has
// acknowledged it: a crash or an outage delays a change but never loses it.
package publish

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/scenicgate/scenicgate/enroll/store"
	"github.com/scenicgate/scenicgate/internal/bus"
	"github.com/scenicgate/scenicgate/internal/drain"
	"github.com/scenicgate/scenicgate/internal/signed"
)

// Publisher drains the outbox into the bucket. Run it in one goroutine.
type Publisher struct {
	store  *store.Store
	js     jetstream.JetStream
	signer *signed.Signer
	log    *slog.Logger
	wake   drain.Waker
	// Published counts entitlements put or purged, for metrics.
	Published atomic.Int64
	kv        jetstream.KeyValue

	mu          sync.Mutex
	failedSince time.Time // when Drain began failing; zero while it works
	failure     error
}

// New returns a publisher from st to the bucket reached through js, which
// signs every entitlement with signer (enroll's key, which gates trust).
func New(st *store.Store, js jetstream.JetStream, signer *signed.Signer, log *slog.Logger) *Publisher {
	return &Publisher{store: st, js: js, signer: signer, log: log, wake: drain.NewWaker()}
}

// Wake asks the publisher to look at the outbox now. It never blocks.
func (p *Publisher) Wake() { p.wake.Wake() }

// Run publishes until ctx ends: at once when woken, and every retry interval
// otherwise, which is what carries changes over an outage.
func (p *Publisher) Run(ctx context.Context, retry time.Duration) {
	drain.Loop(ctx, p.wake, retry, p.Drain, p.log, "entitlements")
}

// Drain publishes everything in the outbox and returns the first error.
func (p *Publisher) Drain(ctx context.Context) error {
	err := p.drain(ctx)
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case err == nil:
		p.failedSince, p.failure = time.Time{}, nil
	case p.failedSince.IsZero():
		p.failedSince, p.failure = time.Now(), err
	default:
		p.failure = err
	}
	return err
}

// Failing returns since when publishing has failed, and the last error;
// the zero time while it works.
func (p *Publisher) Failing() (time.Time, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.failedSince, p.failure
}

func (p *Publisher) drain(ctx context.Context) error {
	for {
		items, err := p.store.Outbox(ctx, 200)
		if err != nil {
			return err
		}
		if len(items) == 0 {
			return nil
		}
		// Coalesce: one publish per ticket covers all its queued changes.
		last := map[string]int64{}
		var order []string
		for _, it := range items {
			if _, seen := last[it.TicketID]; !seen {
				order = append(order, it.TicketID)
			}
			last[it.TicketID] = it.Seq
		}
		for _, id := range order {
			if err := p.publish(ctx, id); err != nil {
				return err
			}
			if err := p.store.OutboxDone(ctx, id, last[id]); err != nil {
				return err
			}
			p.Published.Add(1)
		}
	}
}

func (p *Publisher) bucket(ctx context.Context) (jetstream.KeyValue, error) {
	if p.kv != nil {
		return p.kv, nil
	}
	kv, err := p.js.KeyValue(ctx, bus.BucketEntitlements)
	if err != nil {
		return nil, fmt.Errorf("publish: bucket %s: %w", bus.BucketEntitlements, err)
	}
	p.kv = kv
	return kv, nil
}

func (p *Publisher) publish(ctx context.Context, ticketID string) error {
	kv, err := p.bucket(ctx)
	if err != nil {
		return err
	}
	t, err := p.store.Ticket(ctx, ticketID)
	if errors.Is(err, store.ErrNotFound) {
		return nil // nothing to publish; the outbox row is dropped
	}
	if err != nil {
		return err
	}
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if !t.PurgedAt.IsZero() {
		// Purge, unlike Delete, also drops the key's earlier revisions.
		if err := kv.Purge(pctx, t.ID); err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
			return fmt.Errorf("publish: purge %s: %w", t.ID, err)
		}
		return nil
	}
	b, err := p.signer.SignMessage(signed.Entitlement, t.Entitlement(), time.Now())
	if err != nil {
		return fmt.Errorf("publish: encode %s: %w", t.ID, err)
	}
	if _, err := kv.Put(pctx, t.ID, b); err != nil {
		return fmt.Errorf("publish: put %s: %w", t.ID, err)
	}
	return nil
}
