package node

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/scenicgate/scenicgate/enroll/app"
	"github.com/scenicgate/scenicgate/enroll/store"
	"github.com/scenicgate/scenicgate/hardware/relay"
	"github.com/scenicgate/scenicgate/hardware/relay/relaysim"
	"github.com/scenicgate/scenicgate/internal/bus"
	"github.com/scenicgate/scenicgate/internal/bus/bustest"
	"github.com/scenicgate/scenicgate/internal/qrtoken"
	"github.com/scenicgate/scenicgate/internal/signed"
	sitecfg "github.com/scenicgate/scenicgate/internal/site"
	"github.com/scenicgate/scenicgate/internal/testenv"
	"github.com/scenicgate/scenicgate/models/faces"
)

// engine is shared by the package's tests; loading dlib's models per test
// would cost more than the tests.
var engine *faces.Engine

func TestMain(m *testing.M) {
	dir := os.Getenv("SCENICGATE_MODELS")
	if dir == "" {
		dir = filepath.Join(testenv.Root(), "models")
	}
	var err error
	if engine, err = faces.Open(faces.Config{ModelDir: dir, Workers: 2}); err != nil {
		fmt.Fprintln(os.Stderr, "open face engine (run `make models`):", err)
		os.Exit(1)
	}
	code := m.Run()
	engine.Close()
	os.Exit(code)
}

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// site is a running enroll with its NATS server, for gates to sync from,
// and admin's signing key.
type site struct {
	nats *bustest.Server // nil on a cluster
	// bus is what programs connect to: nats, or a cluster.
	bus    bustest.Bus
	enroll *app.App
	data   string // enroll's data folder
	key    string
	admin  *signed.Signer
	// settings are the site settings the tests' gates start with.
	settings sitecfg.Settings
}

func startSite(t testing.TB) *site {
	t.Helper()
	return startSiteOn(t, bustest.Embedded(t))
}

// startSiteOn starts enroll against the NATS server srv.
func startSiteOn(t testing.TB, srv *bustest.Server) *site {
	t.Helper()
	return startSiteWith(t, srv, engine)
}

// startSiteWith starts enroll against b (a server or a cluster),
// describing faces with the models of e.
func startSiteWith(t testing.TB, b bustest.Bus, e *faces.Engine) *site {
	t.Helper()
	s := &site{bus: b}
	s.nats, _ = b.(*bustest.Server)
	var err error
	if s.admin, err = signed.LoadOrCreateSigner(filepath.Join(t.TempDir(), "admin-signing.key")); err != nil {
		t.Fatal(err)
	}
	cfg := app.DefaultConfig()
	cfg.Data = t.TempDir()
	s.data = cfg.Data
	cfg.NATS = s.bus.Options(t, bus.Enroll())
	cfg.Engine = e
	a, err := app.New(context.Background(), cfg, quietLog())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	s.enroll = a
	if s.key, err = a.Store().CreateAPIKey(context.Background(), "test", store.ScopeShop); err != nil {
		t.Fatal(err)
	}
	s.settings = saveSettings(t, b, s.admin, func(st *sitecfg.Settings) { st.PassbackWindow = 0 })
	return s
}

// saveSettings puts the site's settings, the defaults as mutate changes
// them, signed by admin. The tests' sites run without anti-passback, which
// they do not exercise (they let one visitor in again and again), unless a
// test turns it on.
func saveSettings(t testing.TB, b bustest.Bus, admin *signed.Signer, mutate func(*sitecfg.Settings)) sitecfg.Settings {
	t.Helper()
	_, js := b.Connect(t)
	kv, err := js.KeyValue(context.Background(), bus.BucketSite)
	if err != nil {
		t.Fatal(err)
	}
	st := sitecfg.DefaultSettings()
	mutate(&st)
	if err := sitecfg.SaveSettings(context.Background(), kv, st, admin); err != nil {
		t.Fatal(err)
	}
	return st
}

// lane is a gate with its relay simulator.
type lane struct {
	node *Node
	sim  *relaysim.Sim
	dir  string
	base int // relay commands before the test's own
}

func startGate(t testing.TB, s *site, id string, mutate func(*Config)) *lane {
	t.Helper()
	return startGateWith(t, s, id, engine, mutate)
}

// startGateWith starts a gate whose face engine is e: the benchmarks give a
// gate an engine of its own model only, as the gate program opens it.
func startGateWith(t testing.TB, s *site, id string, e *faces.Engine, mutate func(*Config)) *lane {
	t.Helper()
	sim, err := relaysim.Start(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	l := &lane{sim: sim, dir: t.TempDir()}
	l.node = openGateWith(t, s, id, l.dir, sim, e, mutate)
	// The relay drives the contact off when it opens, so a turnstile is never
	// left open by a pulse lost in a crash; pulses come after that.
	if _, err := sim.WaitEvents(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	l.base = len(sim.Events())
	return l
}

// waitLimit bounds every wait for something a test expects to happen: a
// ticket reaching a gate, a relay command, an admission in the stream. It is
// far above what these take under the race detector on a busy 2-core
// machine, so reaching it means something hangs; the time taken is logged,
// and how fast it should be belongs in the benchmarks.
const waitLimit = 60 * time.Second

// pulses waits for n more relay commands than the lane had at start and
// returns them.
func (l *lane) pulses(t testing.TB, n int) []relaysim.Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	events, err := l.sim.WaitEvents(ctx, l.base+n)
	if err != nil {
		t.Fatalf("waiting for %d relay commands: %v", n, err)
	}
	return events[l.base:]
}

func openGate(t testing.TB, s *site, id, dir string, sim *relaysim.Sim, mutate func(*Config)) *Node {
	t.Helper()
	return openGateWith(t, s, id, dir, sim, engine, mutate)
}

func openGateWith(t testing.TB, s *site, id, dir string, sim *relaysim.Sim, e *faces.Engine, mutate func(*Config)) *Node {
	t.Helper()
	cfg := DefaultConfig()
	cfg.ID, cfg.Data, cfg.Listen = id, dir, ""
	cfg.NATS = s.bus.Options(t, bus.Gate(id))
	cfg.Relay = "lcus:" + sim.Path()
	cfg.StatusEvery = 200 * time.Millisecond
	cfg.TrustEnroll = qrtoken.MarshalPublicKey(s.enroll.Keys().Signer().PublicKey())
	cfg.TrustAdmin = qrtoken.MarshalPublicKey(s.admin.PublicKey())
	if mutate != nil {
		mutate(&cfg)
	}
	r, err := relay.Open(cfg.Relay, relay.Options{Logger: quietLog(), Pulse: cfg.Pulse,
		CheckEvery: 50 * time.Millisecond, Backoff: relay.Backoff{Initial: 20 * time.Millisecond, Max: 100 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	n, err := New(context.Background(), cfg, Parts{Engine: e, Relay: r}, quietLog())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	// The site's settings come with the SITE bucket's watch. A gate
	// started while NATS is away decides with those it stored before, so
	// the wait is bounded and not a failure.
	for deadline := time.Now().Add(10 * time.Second); n.site.Settings() != s.settings && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	return n
}

// eventually polls cond every 20 ms until it holds or d passes, and logs
// how long it took.
func eventually(t testing.TB, d time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > d {
			t.Fatalf("%s: not within %v", what, d)
		}
		time.Sleep(20 * time.Millisecond)
	}
	took := time.Since(start)
	t.Logf("%s: after %v", what, took.Round(time.Millisecond))
	return took
}

// relayPulses waits for the pulses the node started to finish and returns
// how many pulses the relay driver completed since it was opened. It counts
// on the driver's side, so a pulse cannot be missed because the simulator
// has not read it yet.
func relayPulses(l *lane) uint64 {
	l.node.pulses.Wait()
	return l.node.relay.State().Pulses
}
