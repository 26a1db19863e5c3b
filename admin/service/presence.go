package service

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	"github.com/scenicgate/scenicgate/admin/store"
	"github.com/scenicgate/scenicgate/proto/sgpb"
)

// ActionPresenceClear is the audit action of a cleared presence mark.
const ActionPresenceClear = "presence_clear"

// Presence returns the anti-passback mark of a ticket: whether the gates
// hold its holder to be inside, since when and by which gate. It is nil when
// there is no mark.
func (s *Service) Presence(ctx context.Context, id string) (*sgpb.Presence, error) {
	kv, err := s.ingest.PresenceKV(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNATS, err)
	}
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	e, err := kv.Get(cctx, id)
	switch {
	case errors.Is(err, jetstream.ErrKeyNotFound):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("%w: %v", ErrNATS, err)
	}
	p := &sgpb.Presence{}
	if err := proto.Unmarshal(e.Value(), p); err != nil {
		return nil, fmt.Errorf("presence of %s: %w", id, err)
	}
	return p, nil
}

// ClearPresence marks a ticket's holder outside, so that the entry gates
// let the ticket in again before the passback window has passed: for a
// visitor who left where there is no exit gate, or a mark left by a fault.
// Operators and admins only; audited with the reason.
func (s *Service) ClearPresence(ctx context.Context, a Actor, id, reason string) error {
	if err := allow(a, store.Operator); err != nil {
		return err
	}
	reason, err := cleanReason(reason)
	if err != nil {
		return err
	}
	kv, err := s.ingest.PresenceKV(ctx)
	if err == nil {
		b, _ := proto.Marshal(&sgpb.Presence{TicketId: id, GateId: "admin", AtMs: s.now().UnixMilli(), Operator: a.Name, Note: reason})
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_, err = kv.Put(cctx, id, b)
		cancel()
	}
	if err != nil {
		s.audit(ctx, a, ActionPresenceClear, id, reason+": "+err.Error(), false)
		return fmt.Errorf("%w: %v", ErrNATS, err)
	}
	s.audit(ctx, a, ActionPresenceClear, id, reason, true)
	return nil
}
