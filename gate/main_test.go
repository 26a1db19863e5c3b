package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/scenicgate/scenicgate/enroll/app"
	"github.com/scenicgate/scenicgate/enroll/service"
	"github.com/scenicgate/scenicgate/gate/store"
	"github.com/scenicgate/scenicgate/hardware/relay/relaysim"
	"github.com/scenicgate/scenicgate/internal/bus"
	"github.com/scenicgate/scenicgate/internal/bus/bustest"
	"github.com/scenicgate/scenicgate/internal/qrtoken"
	"github.com/scenicgate/scenicgate/internal/rules"
	"github.com/scenicgate/scenicgate/internal/signed"
	"github.com/scenicgate/scenicgate/internal/testenv"
)

var (
	buildOnce sync.Once
	built     string
	buildErr  error
)

// trust returns the --trust-enroll and --trust-admin flags for a gate of
// enroll (admin's key is made up: these tests send no commands).
func trust(t *testing.T, enroll *app.App) []string {
	t.Helper()
	admin, err := signed.LoadOrCreateSigner(filepath.Join(t.TempDir(), "admin-signing.key"))
	if err != nil {
		t.Fatal(err)
	}
	return []string{"--trust-enroll", qrtoken.MarshalPublicKey(enroll.Keys().Signer().PublicKey()),
		"--trust-admin", qrtoken.MarshalPublicKey(admin.PublicKey())}
}

// buildGate builds this program once for the package's tests.
func buildGate(t testing.TB) string {
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "gate-bin-")
		if err != nil {
			buildErr = err
			return
		}
		built = filepath.Join(dir, "gate")
		if out, err := exec.Command("go", "build", "-o", built, ".").CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return built
}

// TestSIGTERMFinishesThePulseAndFlushes stops a gate in the middle of a
// pulse: the turnstile must still get its "off", and the admission must be
// in the stream.
func TestSIGTERMFinishesThePulseAndFlushes(t *testing.T) {
	bin := buildGate(t)
	srv := bustest.Embedded(t)
	cfg := app.DefaultConfig()
	cfg.Data, cfg.NATS, cfg.Models, cfg.Workers = t.TempDir(), srv.Options(t, bus.Enroll()), testenv.ModelDir(t), 1
	enroll, err := app.New(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer enroll.Close()
	_, err = enroll.Service().CreateOrder(context.Background(), "test", service.OrderRequest{
		OrderID: "term-1", Consent: true,
		Visitors: []service.VisitorRequest{{Name: "v", TicketType: "day_pass", ValidFrom: rules.Site{}.Day(time.Now()).String(),
			Photos: [][]byte{testenv.Photo(t, "obama.jpg")}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	sim, err := relaysim.Start(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	cam := t.TempDir()
	os.WriteFile(filepath.Join(cam, "visitor.jpg"), testenv.Photo(t, "obama2.jpg"), 0o644)
	var logs strings.Builder
	cmd := exec.Command(bin, append(trust(t, enroll), "--id", "term-1", "--camera", cam, "--camera-fps", "10", "--relay", "lcus:"+sim.Path(),
		"--nats", srv.URL, "--nats-creds", srv.Creds(t, bus.Gate("term-1")), "--data", t.TempDir(), "--models", testenv.ModelDir(t),
		"--listen", "", "--workers", "1", "--pulse", "1500ms")...)
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	events, err := sim.WaitEvents(ctx, 2) // the initial off, then on
	if err != nil {
		t.Fatalf("no pulse: %v\n%s", err, logs.String())
	}
	on := events[1]
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("gate exited with %v after SIGTERM\n%s", err, logs.String())
	}
	events = sim.Events()
	if len(events) != 3 || events[2].On || !on.On {
		t.Fatalf("relay commands %v; want off, on, off", events)
	}
	if held := events[2].At.Sub(on.At); held < 1400*time.Millisecond {
		t.Errorf("the pulse was cut to %v by the shutdown; want it finished (1.5s)", held)
	}
	_, js := srv.Connect(t)
	st, err := js.Stream(ctx, bus.StreamAdmissions)
	if err != nil {
		t.Fatal(err)
	}
	info, _ := st.Info(ctx)
	if info.State.Msgs < 1 {
		t.Errorf("ADMISSIONS holds %d admissions after SIGTERM; want the one made", info.State.Msgs)
	}
}

// TestSurvivesSIGKILLOffline kills a gate that has admissions waiting in its
// outbox while NATS is down, restarts it still offline, and checks that it
// admits from its mirror at once and that every admission reaches the
// stream exactly once when NATS returns.
func TestSurvivesSIGKILLOffline(t *testing.T) {
	bin := buildGate(t)
	srv := bustest.Embedded(t)
	cfg := app.DefaultConfig()
	cfg.Data, cfg.NATS, cfg.Models = t.TempDir(), srv.Options(t, bus.Enroll()), testenv.ModelDir(t)
	cfg.Workers = 1
	enroll, err := app.New(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer enroll.Close()
	today := rules.Site{}.Day(time.Now()).String()
	res, err := enroll.Service().CreateOrder(context.Background(), "test", service.OrderRequest{
		OrderID: "kill-1", Consent: true,
		Visitors: []service.VisitorRequest{{Name: "v", TicketType: "day_pass", ValidFrom: today,
			Photos: [][]byte{testenv.Photo(t, "obama.jpg")}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	ticket := res.Tickets[0].ID

	sim, err := relaysim.Start(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	cam := t.TempDir()
	os.WriteFile(filepath.Join(cam, "visitor.jpg"), testenv.Photo(t, "obama2.jpg"), 0o644)
	data := t.TempDir()
	var logs strings.Builder
	flags := trust(t, enroll)
	start := func() *exec.Cmd {
		cmd := exec.Command(bin, append(flags, "--id", "kill-1", "--camera", cam, "--camera-fps", "10", "--relay", "lcus:"+sim.Path(),
			"--nats", srv.URL, "--nats-creds", srv.Creds(t, bus.Gate("kill-1")), "--data", data, "--models", testenv.ModelDir(t),
			"--listen", "", "--workers", "1",
			"--cooldown", "1s", "--pulse", "100ms")...)
		cmd.Stderr = &logs
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}
	waitPulses := func(n int) {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		if _, err := sim.WaitEvents(ctx, n); err != nil {
			t.Fatalf("waiting for %d relay commands: %v\n%s", n, err, logs.String())
		}
	}

	gate := start()
	waitPulses(3) // the initial off, then a pulse: the gate synced and admitted
	srv.Stop()
	before := len(sim.Events())
	waitPulses(before + 4) // two more admissions, offline, kept in the outbox
	gate.Process.Signal(syscall.SIGKILL)
	gate.Wait()

	gate = start() // still offline: it must decide from its SQLite mirror
	before = len(sim.Events())
	waitPulses(before + 3)
	gate.Process.Signal(syscall.SIGTERM)
	gate.Wait()

	st, err := store.Open(context.Background(), data)
	if err != nil {
		t.Fatal(err)
	}
	depth, _ := st.OutboxDepth(context.Background())
	entries, _, _, _ := st.Usage(context.Background(), ticket, today)
	st.Close()
	if depth < 3 {
		t.Fatalf("outbox holds %d admissions after the offline run; want at least 3", depth)
	}

	srv.Start()
	gate = start()
	defer func() { gate.Process.Signal(syscall.SIGTERM); gate.Wait() }()
	_, js := srv.Connect(t)
	deadline := time.Now().Add(30 * time.Second)
	var got uint64
	for time.Now().Before(deadline) {
		info, err := js.Stream(context.Background(), bus.StreamAdmissions)
		if err == nil {
			i, _ := info.Info(context.Background())
			if got = i.State.Msgs; got >= uint64(entries) {
				break
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	if got < uint64(entries) {
		t.Fatalf("ADMISSIONS holds %d admissions; the gate recorded %d", got, entries)
	}
	// Each event id once: the stream deduplicates by Nats-Msg-Id, and the
	// outbox marks what was acknowledged.
	c, _ := js.OrderedConsumer(context.Background(), bus.StreamAdmissions, jetstream.OrderedConsumerConfig{})
	seen := map[string]bool{}
	batch, _ := c.Fetch(int(got), jetstream.FetchMaxWait(2*time.Second))
	for m := range batch.Messages() {
		id := m.Headers().Get(jetstream.MsgIDHeader)
		if seen[id] {
			t.Errorf("admission %s arrived twice", id)
		}
		seen[id] = true
	}
	t.Logf("%d admissions recorded across the kill, %d in the stream", entries, got)
}

func TestMain(m *testing.M) {
	code := m.Run()
	if built != "" {
		os.RemoveAll(filepath.Dir(built))
	}
	os.Exit(code)
}
