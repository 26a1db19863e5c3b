package node

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"google.golang.org/protobuf/proto"

	"github.com/scenicgate/scenicgate/gate/mirror"
	"github.com/scenicgate/scenicgate/gate/store"
	"github.com/scenicgate/scenicgate/internal/bus"
	"github.com/scenicgate/scenicgate/internal/signed"
	"github.com/scenicgate/scenicgate/proto/sgpb"
)

// CommandMaxAge is how far a command's time may be from the gate's clock
// when it arrives. Admin and gates keep their clocks by NTP; a command held
// back longer is a replay or came too late to open a turnstile for anyone.
const CommandMaxAge = 30 * time.Second

// Why a command is refused, besides a bad signature.
var (
	ErrCommandForAnotherGate = errors.New("meant for another gate")
	ErrCommandStale          = errors.New("older than 30s, or from the future")
	ErrCommandReplayed       = errors.New("replayed")
	ErrCommandNoNonce        = errors.New("without a nonce")
)

// minNonce is the least nonce length admin sends (16 random bytes).
const minNonce = 16

// commandGuard remembers the nonces of the commands acted on within
// 2×CommandMaxAge, in memory and in the gate's SQLite, so a command is acted
// on once even across a restart.
type commandGuard struct {
	store *store.Store

	mu   sync.Mutex
	seen map[string]int64 // hex nonce → the command's at_ms
}

const metaNonces = "command_nonces"

func loadCommandGuard(ctx context.Context, st *store.Store) (*commandGuard, error) {
	g := &commandGuard{store: st, seen: map[string]int64{}}
	b, err := st.Meta(ctx, metaNonces)
	if errors.Is(err, store.ErrNotFound) {
		return g, nil
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, &g.seen); err != nil {
		g.seen = map[string]int64{} // unreadable: the age check still holds
	}
	return g, nil
}

// admit checks that cmd, already found signed by admin, is for gate, fresh
// at now and new, and records its nonce before the gate acts on it.
func (g *commandGuard) admit(ctx context.Context, gate string, cmd *sgpb.GateCommand, now time.Time) error {
	age := now.Sub(time.UnixMilli(cmd.AtMs))
	switch {
	case cmd.GateId != gate:
		return fmt.Errorf("%w (%.64q)", ErrCommandForAnotherGate, cmd.GateId)
	case age > CommandMaxAge:
		return fmt.Errorf("%w: sent %s ago", ErrCommandStale, age.Round(time.Second))
	case age < -CommandMaxAge:
		return fmt.Errorf("%w: dated %s ahead of the gate's clock", ErrCommandStale, (-age).Round(time.Second))
	case len(cmd.Nonce) < minNonce:
		return ErrCommandNoNonce
	}
	nonce := hex.EncodeToString(cmd.Nonce)
	g.mu.Lock()
	defer g.mu.Unlock()
	if _, seen := g.seen[nonce]; seen {
		return ErrCommandReplayed
	}
	for k, at := range g.seen {
		if now.Sub(time.UnixMilli(at)) > 2*CommandMaxAge {
			delete(g.seen, k)
		}
	}
	g.seen[nonce] = cmd.AtMs
	b, _ := json.Marshal(g.seen)
	if err := g.store.SetMeta(context.WithoutCancel(ctx), metaNonces, b); err != nil {
		// Not acting is safer than acting twice.
		delete(g.seen, nonce)
		return fmt.Errorf("recording the command: %w", err)
	}
	return nil
}

// listenCommands answers staff commands on gates.<id>.command. The
// subscription survives reconnects; commands sent while the gate is away are
// not queued, since opening a turnstile minutes late would be wrong.
func (n *Node) listenCommands() error {
	_, err := n.nc.Subscribe(bus.CommandSubject(n.cfg.ID), func(m *nats.Msg) {
		reply := n.command(m.Data)
		b, _ := proto.Marshal(reply)
		if m.Reply != "" {
			m.Respond(b)
		}
	})
	return err
}

// command acts on a command from admin: signed with admin's key (the gate's
// --trust-admin), for this gate, at most CommandMaxAge old and never seen
// before. Anything else is refused, reported in the status and logged.
func (n *Node) command(data []byte) *sgpb.GateCommandReply {
	cmd := &sgpb.GateCommand{}
	if _, err := n.admin.OpenMessage(signed.GateCommand, data, cmd); err != nil {
		return n.refuseCommand(&sgpb.GateCommand{}, err)
	}
	if err := n.commands.admit(context.Background(), n.cfg.ID, cmd, n.now()); err != nil {
		return n.refuseCommand(cmd, err)
	}
	reply := &sgpb.GateCommandReply{CommandId: cmd.CommandId}
	n.log.Info("staff command", "kind", cmd.Kind.String(), "operator", cmd.Operator, "reason", cmd.Reason, "command", cmd.CommandId)
	switch cmd.Kind {
	case sgpb.CommandKind_COMMAND_KIND_OPEN:
		if err := n.ManualOpen(context.Background(), cmd.Operator, cmd.Reason); err != nil {
			reply.Error = err.Error()
			return reply
		}
	case sgpb.CommandKind_COMMAND_KIND_RELOAD:
		n.mirror.Refresh()
	default:
		reply.Error = "unknown command"
		return reply
	}
	reply.Ok = true
	return reply
}

func (n *Node) refuseCommand(cmd *sgpb.GateCommand, err error) *sgpb.GateCommandReply {
	reason := mirror.RefusalReason(err)
	n.log.Error("refusing a command", "kind", cmd.Kind.String(), "operator", cmd.Operator, "command", cmd.CommandId, "err", err)
	n.refusals.Add("command", "command", reason)
	return &sgpb.GateCommandReply{CommandId: cmd.CommandId, Error: "refused: " + reason}
}

// ManualOpen pulses the relay for staff (a wheelchair, a pram, a fault) and
// records it as a manual admission naming the operator and reason.
func (n *Node) ManualOpen(ctx context.Context, operator, reason string) error {
	if operator == "" {
		return fmt.Errorf("a manual open needs the operator's name")
	}
	now := n.now()
	out := Outcome{Allow: true, Reason: ReasonManual}
	a := n.admission(Identified{Method: sgpb.Method_METHOD_MANUAL}, out, now)
	a.Operator, a.Note = operator, reason
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	err := n.relay.Pulse(pctx, n.cfg.Pulse)
	cancel()
	if err != nil {
		return fmt.Errorf("relay: %w", err)
	}
	return n.record(ctx, a, "", n.siteRules().Day(now).String(), out)
}
