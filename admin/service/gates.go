package service

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"google.golang.org/protobuf/proto"

	"github.com/scenicgate/scenicgate/admin/store"
	"github.com/scenicgate/scenicgate/internal/bus"
	"github.com/scenicgate/scenicgate/internal/signed"
	"github.com/scenicgate/scenicgate/proto/sgpb"
)

var gateID = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// GateView is a gate's last heartbeat and whether it is online.
type GateView struct {
	store.Gate
	Online bool
	// Silence is how long ago the last heartbeat arrived.
	Silence time.Duration
}

// Faulty reports whether the gate reports faults or a broken relay.
func (g GateView) Faulty() bool { return len(g.Faults) > 0 || !g.RelayOK }

// Gates returns every known gate. A gate is online when its last heartbeat
// arrived within GateOfflineAfter (three heartbeat intervals of 5 s by
// default), judged by admin's clock so the gates' clocks do not matter.
func (s *Service) Gates(ctx context.Context) ([]GateView, error) {
	gates, err := s.store.Gates(ctx)
	if err != nil {
		return nil, err
	}
	now := s.now()
	out := make([]GateView, 0, len(gates))
	for _, g := range gates {
		silence := max(now.Sub(g.ReceivedAt), 0)
		out = append(out, GateView{Gate: g, Silence: silence, Online: silence <= s.cfg.GateOfflineAfter})
	}
	return out, nil
}

// CommandKinds maps the command names of the UI to their kinds.
var CommandKinds = map[string]sgpb.CommandKind{
	"open":   sgpb.CommandKind_COMMAND_KIND_OPEN,
	"reload": sgpb.CommandKind_COMMAND_KIND_RELOAD,
}

// CommandGate sends a command to a gate over NATS request/reply and waits up
// to CommandTimeout for its answer. "open" pulses the turnstile once and
// needs a reason; "reload" reloads the gate's mirror. Operators and admins
// only. Errors: ErrGateUnreachable, ErrGateTimeout, a *GateError (wrapping
// ErrGateRefused) with the gate's own message, or ErrNATS.
func (s *Service) CommandGate(ctx context.Context, a Actor, gate, kind, reason string) (*sgpb.GateCommandReply, error) {
	if err := allow(a, store.Operator); err != nil {
		return nil, err
	}
	if !gateID.MatchString(gate) {
		return nil, ErrBadGate
	}
	k, ok := CommandKinds[kind]
	if !ok {
		return nil, ErrBadCommand
	}
	action := ActionGateReload
	if k == sgpb.CommandKind_COMMAND_KIND_OPEN {
		action = ActionGateOpen
		var err error
		if reason, err = cleanReason(reason); err != nil {
			return nil, err
		}
	} else {
		reason = strings.TrimSpace(reason)
		if len([]rune(reason)) > MaxReason {
			return nil, ErrReasonTooLong
		}
	}
	nonce := make([]byte, 16)
	rand.Read(nonce) // never fails; see crypto/rand.Read
	cmd := &sgpb.GateCommand{CommandId: NewToken()[:22], Kind: k, Reason: reason, Operator: a.Name,
		AtMs: s.now().UnixMilli(), GateId: gate, Nonce: nonce}
	reply, err := s.request(ctx, gate, cmd)
	detail := reason
	if err != nil {
		detail = strings.TrimSpace(reason + " → " + err.Error())
	}
	s.audit(ctx, a, action, gate, detail, err == nil)
	return reply, err
}

// request sends cmd, signed with admin's key: a gate acts only on commands
// signed so, for it, and fresh (see gate/node).
func (s *Service) request(ctx context.Context, gate string, cmd *sgpb.GateCommand) (*sgpb.GateCommandReply, error) {
	data, err := s.signer.SignMessage(signed.GateCommand, cmd, time.UnixMilli(cmd.AtMs))
	if err != nil {
		return nil, err
	}
	rctx, cancel := context.WithTimeout(ctx, s.cfg.CommandTimeout)
	defer cancel()
	msg, err := s.nc.RequestWithContext(rctx, bus.CommandSubject(gate), data)
	switch {
	case errors.Is(err, nats.ErrNoResponders):
		return nil, ErrGateUnreachable
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout):
		return nil, ErrGateTimeout
	case err != nil:
		return nil, fmt.Errorf("%w: %v", ErrNATS, err)
	}
	var reply sgpb.GateCommandReply
	if err := proto.Unmarshal(msg.Data, &reply); err != nil {
		return nil, &GateError{Msg: "undecodable reply: " + err.Error()}
	}
	if reply.CommandId != "" && reply.CommandId != cmd.CommandId {
		return nil, &GateError{Msg: fmt.Sprintf("reply to command %q, not %q", reply.CommandId, cmd.CommandId)}
	}
	if !reply.Ok {
		msg := reply.Error
		if msg == "" {
			msg = "no reason given"
		}
		return &reply, &GateError{Msg: msg}
	}
	return &reply, nil
}
