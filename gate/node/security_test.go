package node

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	"github.com/scenicgate/scenicgate/enroll/keys"
	"github.com/scenicgate/scenicgate/internal/bus"
	"github.com/scenicgate/scenicgate/internal/bus/bustest"
	"github.com/scenicgate/scenicgate/internal/qrtoken"
	"github.com/scenicgate/scenicgate/internal/rules"
	"github.com/scenicgate/scenicgate/internal/signed"
	"github.com/scenicgate/scenicgate/proto/sgpb"
)

// command returns cmd as admin sends it: with a fresh nonce, stamped at,
// signed with admin's key.
func (s *site) command(t testing.TB, cmd *sgpb.GateCommand, at time.Time) []byte {
	t.Helper()
	return signCommand(t, s.admin, cmd, at)
}

func signCommand(t testing.TB, by *signed.Signer, cmd *sgpb.GateCommand, at time.Time) []byte {
	t.Helper()
	cmd = proto.Clone(cmd).(*sgpb.GateCommand)
	cmd.AtMs = at.UnixMilli()
	if cmd.Nonce == nil {
		cmd.Nonce = make([]byte, 16)
		rand.Read(cmd.Nonce)
	}
	b, err := by.SignMessage(signed.GateCommand, cmd, at)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// ask sends a command on the gate's subject as nc and returns the gate's
// answer.
func ask(t testing.TB, nc *nats.Conn, gate string, data []byte) *sgpb.GateCommandReply {
	t.Helper()
	msg, err := nc.Request(bus.CommandSubject(gate), data, 5*time.Second)
	if err != nil {
		t.Fatalf("command to %s: %v", gate, err)
	}
	reply := &sgpb.GateCommandReply{}
	if err := proto.Unmarshal(msg.Data, reply); err != nil {
		t.Fatal(err)
	}
	return reply
}

// relayQuiet fails the test when the relay received anything beyond its
// first n commands, after giving a stray pulse time to arrive.
func (l *lane) relayQuiet(t testing.TB, n int, after string) {
	t.Helper()
	time.Sleep(300 * time.Millisecond)
	if got := len(l.sim.Events()) - l.base; got != n {
		t.Fatalf("after %s the relay received %d commands; want still %d", after, got, n)
	}
}

func TestOnlyFreshSignedCommandsForThisGateOpenIt(t *testing.T) {
	bustest.Each(t, func(t *testing.T, srv *bustest.Server) { onlyFreshSignedCommandsOpen(t, startSiteOn(t, srv)) })
}

func onlyFreshSignedCommandsOpen(t *testing.T, s *site) {
	g := startGate(t, s, "west-1", nil)
	admin, _ := s.nats.ConnectAs(t, bus.Admin())
	open := &sgpb.GateCommand{CommandId: "c1", Kind: sgpb.CommandKind_COMMAND_KIND_OPEN, Operator: "王五", Reason: "轮椅", GateId: "west-1"}
	good := s.command(t, open, time.Now())
	if r := ask(t, admin, "west-1", good); !r.Ok {
		t.Fatalf("a signed, fresh command: %+v; want it done", r)
	}
	g.pulses(t, 2)

	intruder, err := signed.LoadOrCreateSigner(t.TempDir() + "/intruder.key")
	if err != nil {
		t.Fatal(err)
	}
	unsigned, _ := proto.Marshal(&sgpb.GateCommand{CommandId: "x", Kind: sgpb.CommandKind_COMMAND_KIND_OPEN, Operator: "intruder",
		GateId: "west-1", AtMs: time.Now().UnixMilli(), Nonce: make([]byte, 16)})
	other := proto.Clone(open).(*sgpb.GateCommand)
	other.GateId = "north-2"
	for _, c := range []struct {
		name, want string
		data       []byte
	}{
		{"replayed", "replayed", good},
		{"older than 30 s", "older than 30s", s.command(t, open, time.Now().Add(-31*time.Second))},
		{"from the future", "from the future", s.command(t, open, time.Now().Add(time.Minute))},
		{"meant for another gate", "another gate", s.command(t, other, time.Now())},
		{"unsigned", "unsigned", unsigned},
		{"signed by another key", "untrusted key", signCommand(t, intruder, open, time.Now())},
	} {
		r := ask(t, admin, "west-1", c.data)
		if r.Ok || !strings.Contains(r.Error, c.want) {
			t.Errorf("%s command: %+v; want it refused as %q", c.name, r, c.want)
		}
		g.relayQuiet(t, 2, "a "+c.name+" command")
	}
	st := g.node.Status(context.Background())
	if !hasFault(st, "refused command") {
		t.Errorf("status faults %q; want the refused commands reported", st.Faults)
	}

	// Nor does a restart make the gate forget what it has done.
	g.node.Close()
	g.node = openGate(t, s, "west-1", g.dir, g.sim, nil)
	eventually(t, 10*time.Second, "the gate listening for commands again", func() bool {
		_, err := admin.Request(bus.CommandSubject("west-1"), nil, time.Second)
		return err == nil
	})
	if r := ask(t, admin, "west-1", good); r.Ok || !strings.Contains(r.Error, "replayed") {
		t.Errorf("the command replayed after a restart: %+v; want it refused", r)
	}
	time.Sleep(300 * time.Millisecond)
	for _, e := range g.sim.Events()[g.base+2:] {
		if e.On {
			t.Fatalf("the relay was switched on after the restart: %v", g.sim.Events())
		}
	}
	got := admissions(t, s)(1)
	if len(got) != 1 || got[0].Operator != "王五" {
		t.Fatalf("ADMISSIONS holds %v; want the manual open by 王五", got)
	}
	_, js := s.nats.Connect(t)
	stream, err := js.Stream(context.Background(), bus.StreamAdmissions)
	if err != nil {
		t.Fatal(err)
	}
	info, err := stream.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 1 {
		t.Errorf("ADMISSIONS holds %d admissions; want only the one manual open", info.State.Msgs)
	}
}

func TestForgedOldAndOutOfRangeEntitlementsDoNotOpen(t *testing.T) {
	bustest.Each(t, func(t *testing.T, srv *bustest.Server) { forgedOldAndOutOfRangeDoNotOpen(t, startSiteOn(t, srv)) })
}

func forgedOldAndOutOfRangeDoNotOpen(t *testing.T, s *site) {
	g := startGate(t, s, "north-1", nil)
	id, _ := enrollTicket(t, s, "o-forge", "obama.jpg", "day_pass")
	waitInGallery(t, g, id)
	held := proto.Clone(entitlement(t, g.node, id)).(*sgpb.Entitlement)
	revoke(t, s, id)
	eventually(t, 10*time.Second, "the revoke reaches the gate", func() bool { return entitlement(t, g.node, id).Revoked })

	// Someone holding enroll's NATS credentials, but not its signing key.
	_, js := s.nats.ConnectAs(t, bus.Enroll())
	ctx := context.Background()
	kv, err := js.KeyValue(ctx, bus.BucketEntitlements)
	if err != nil {
		t.Fatal(err)
	}
	intruder, err := signed.LoadOrCreateSigner(t.TempDir() + "/intruder.key")
	if err != nil {
		t.Fatal(err)
	}
	enroll := s.enroll.Keys().Signer()
	seal := func(by *signed.Signer, e *sgpb.Entitlement) []byte {
		b, err := by.SignMessage(signed.Entitlement, e, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	// A day pass carrying the visitor's own face, signed with the wrong key.
	forged := proto.Clone(held).(*sgpb.Entitlement)
	forged.TicketId, forged.Version = "TFORGED", 1
	// The ticket as it was before the revoke, signed by enroll: an old value
	// put back.
	old := proto.Clone(held).(*sgpb.Entitlement)
	// enroll's own key signing a value no ticket has.
	huge := proto.Clone(held).(*sgpb.Entitlement)
	huge.TicketId, huge.TicketType, huge.EntriesAllowed = "THUGE", sgpb.TicketType_TICKET_TYPE_MULTI, math.MaxInt32
	for key, value := range map[string][]byte{"TFORGED": seal(intruder, forged), id: seal(enroll, old), "THUGE": seal(enroll, huge)} {
		if _, err := kv.Put(ctx, key, value); err != nil {
			t.Fatal(err)
		}
	}
	status, err := kv.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	last := status.(*jetstream.KeyValueBucketStatus).StreamInfo().State.LastSeq
	eventually(t, 10*time.Second, "the gate reads every put", func() bool { return g.node.mirror.Revision() >= last })

	if entitlement(t, g.node, "TFORGED") != nil || searched(g.node, "TFORGED") || entitlement(t, g.node, "THUGE") != nil {
		t.Fatal("a forged or out-of-range entitlement entered the mirror")
	}
	if e := entitlement(t, g.node, id); !e.Revoked || searched(g.node, id) {
		t.Fatalf("after the old value was put back: revoked %v, in the gallery %v; want revoked, not in the gallery", e.Revoked, searched(g.node, id))
	}
	l := g.node.NewLane()
	defer l.Close()
	if out := show(t, l, "obama2.jpg", 5); out == nil || out.Allow {
		t.Fatalf("the visitor of the revoked ticket: %+v; want a denial", out)
	}
	g.relayQuiet(t, 0, "the forgeries")
	if out, err := g.node.Decide(ctx, Identified{TicketID: "THUGE", Method: sgpb.Method_METHOD_QR}); err != nil || out.Allow || out.Reason != rules.Unknown {
		t.Fatalf("deciding on the out-of-range ticket: %+v, %v; want deny unknown", out, err)
	}

	// The gate is up and says what it refused, in its status and in the
	// heartbeat admin stores.
	admin, _ := s.nats.ConnectAs(t, bus.Admin())
	beats, err := admin.SubscribeSync(bus.StatusSubject("north-1"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := beats.NextMsg(5 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	beat := &sgpb.GateStatus{}
	proto.Unmarshal(m.Data, beat)
	faults := strings.Join(beat.Faults, "\n")
	for _, want := range []string{
		"refused entitlement TFORGED: signed by an untrusted key",
		"refused entitlement " + id + ": older than the version held",
		"refused entitlement THUGE: out of range (entries_allowed 2147483647",
	} {
		if !strings.Contains(faults, want) {
			t.Errorf("heartbeat faults %q lack %q", faults, want)
		}
	}
	if qrtoken.MarshalPublicKey(enroll.PublicKey()) == "" || !g.node.online() {
		t.Error("the gate went offline")
	}
}

func TestQRKeyRotationKeepsPrintedTicketsValid(t *testing.T) {
	s := startSite(t)
	g := startGate(t, s, "qr-rot-1", func(c *Config) { c.Mode = ModeFaceOrQR })
	waitForQRKey(t, g)
	printed, oldToken := enrollTicket(t, s, "o-rot-a", "", "day_pass")

	old, fresh, err := keys.RotateQR(s.data, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	later, newToken := enrollTicket(t, s, "o-rot-b", "", "day_pass")
	if v, _ := qrtoken.NewVerifier(fresh); v != nil {
		if _, err := v.Verify(newToken, time.Now()); err != nil {
			t.Fatalf("the ticket sold after the rotation is not signed with the new key: %v", err)
		}
	}
	if v, _ := qrtoken.NewVerifier(old); v != nil {
		if _, err := v.Verify(oldToken, time.Now()); err != nil {
			t.Fatalf("the ticket printed before the rotation is not signed with the old key: %v", err)
		}
	}
	eventually(t, 10*time.Second, "the new QR key reaches the gate", func() bool {
		v := g.node.site.Verifier()
		_, err := v.Verify(newToken, time.Now())
		return v != nil && err == nil
	})
	eventually(t, 10*time.Second, "both tickets reach the gate", func() bool {
		return entitlement(t, g.node, printed) != nil && entitlement(t, g.node, later) != nil
	})
	l := g.node.NewLane()
	defer l.Close()
	ctx := context.Background()
	for _, c := range []struct{ name, ticket, token string }{{"printed before", printed, oldToken}, {"sold after", later, newToken}} {
		if out := showQR(t, l, c.token); out == nil || !out.Allow || out.Admission.TicketId != c.ticket {
			t.Fatalf("the ticket %s the rotation: %+v; want allow by QR", c.name, out)
		}
	}
	g.pulses(t, 4)

	// A QR key set signed by anyone but enroll changes nothing.
	intruder, err := signed.LoadOrCreateSigner(t.TempDir() + "/intruder.key")
	if err != nil {
		t.Fatal(err)
	}
	qrKey, err := qrtoken.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	forgedSet, _ := intruder.SignMessage(signed.QRKeys, &sgpb.QRKeySet{Keys: []*sgpb.QRKey{{PublicKey: qrKey.Public().(ed25519.PublicKey)}}}, time.Now())
	_, js := s.nats.ConnectAs(t, bus.Enroll())
	kv, err := js.KeyValue(ctx, bus.BucketSite)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Put(ctx, bus.KeyQRPublicKeys, forgedSet); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "the forged key set refused", func() bool {
		return hasFault(g.node.Status(ctx), "refused site qr_public_keys")
	})
	qrSigner, _ := qrtoken.NewSigner(qrKey)
	minted, err := qrSigner.Sign(qrtoken.Claims{TicketID: later, TokenID: entitlement(t, g.node, later).QrTokenId,
		IssuedAt: time.Now(), Expires: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if out := showQR(t, l, minted); out == nil || out.Allow || out.Reason != ReasonBadQR {
		t.Fatalf("a QR code minted with the forged key: %+v; want deny %s", out, ReasonBadQR)
	}
	g.relayQuiet(t, 4, "the minted QR code")
	if v := g.node.site.Verifier(); v == nil {
		t.Fatal("the gate lost its QR keys")
	} else if _, err := v.Verify(oldToken, time.Now()); err != nil {
		t.Errorf("the printed ticket after the forged key set: %v; want it still valid", err)
	}
}
