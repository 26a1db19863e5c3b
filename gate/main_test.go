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
	sitecfg "github.com/scenicgate/scenicgate/internal/site"
	"github.com/scenicgate/scenicgate/internal/testenv"
)

var (
	buildOnce sync.Once
	built     string
	buildErr  error
)

// trust returns the --trust-enroll and --trust-admin flags for a gate of
// enroll. Admin's key is made up: these tests send no commands. With it the
// site's settings are saved without anti-passback, which these tests do not
// exercise (they let one visitor in again and again).
func trust(t *testing.T, srv *bustest.Server, enroll *app.App) []string {
	t.Helper()
	admin, err := signed.LoadOrCreateSigner(filepath.Join(t.TempDir(), "admin-signing.key"))
	if err != nil {
		t.Fatal(err)
	}
	_, js := srv.Connect(t)
	kv, err := js.KeyValue(context.Background(), bus.BucketSite)
	if err != nil {
		t.Fatal(err)
	}
	st := sitecfg.DefaultSettings()
	st.PassbackWindow = 0
	if err := sitecfg.SaveSettings(context.Background(), kv, st, admin); err != nil {
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
// pulse: the turnstile must still get its "off", and every admission the
// gate recorded must be in the stream, once.
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
	_, err = enroll.Service().CreateOrder(context.Background(), service.System("test"), service.OrderRequest{
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
	data := t.TempDir()
	const pulse = 3 * time.Second
	cmd := exec.Command(bin, append(trust(t, srv, enroll), "--id", "term-1", "--camera", cam, "--camera-fps", "10", "--relay", "lcus:"+sim.Path(),
		"--nats", srv.URL, "--nats-creds", srv.Creds(t, bus.Gate("term-1")), "--data", data, "--models", testenv.ModelDir(t),
		"--listen", "", "--workers", "1", "--pulse", pulse.String())...)
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
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
	// The signal went out as soon as the simulator saw the "on", so a pulse
	// cut by the shutdown would end at once. The simulator stamps commands
	// when it reads them, which a loaded machine delays; two thirds of the
	// pulse tells a finished pulse from a cut one with room for that.
	if held := events[2].At.Sub(on.At); held < pulse*2/3 {
		t.Errorf("the pulse was cut to %v by the shutdown; want it finished (%v)", held, pulse)
	}
	ids := recorded(t, data)
	if len(ids) == 0 {
		t.Fatal("the gate recorded no admission")
	}
	checkStreamHoldsExactly(t, srv, ids)
}

// recorded returns the event ids of every admission the gate with data
// folder dir recorded, after checking that none is left unpublished. The
// gate must have exited.
func recorded(t *testing.T, dir string) []string {
	t.Helper()
	st, err := store.Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if depth, err := st.OutboxDepth(context.Background()); err != nil || depth != 0 {
		t.Fatalf("%d admissions left in the outbox after a clean exit (%v); want none", depth, err)
	}
	ids, err := st.EventIDs(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

// checkStreamHoldsExactly checks that ADMISSIONS holds the admissions ids,
// each exactly once, and nothing else.
func checkStreamHoldsExactly(t *testing.T, srv *bustest.Server, ids []string) {
	t.Helper()
	ctx := context.Background()
	_, js := srv.Connect(t)
	st, err := js.Stream(ctx, bus.StreamAdmissions)
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != uint64(len(ids)) {
		t.Errorf("ADMISSIONS holds %d admissions; the gate recorded %d", info.State.Msgs, len(ids))
	}
	c, err := js.OrderedConsumer(ctx, bus.StreamAdmissions, jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{}
	for _, id := range ids {
		want[id] = true
	}
	seen := map[string]bool{}
	deadline := time.Now().Add(waitLimit)
	for len(seen) < len(ids) && time.Now().Before(deadline) {
		batch, err := c.Fetch(len(ids)-len(seen), jetstream.FetchMaxWait(time.Second))
		if err != nil {
			continue
		}
		for m := range batch.Messages() {
			id := m.Headers().Get(jetstream.MsgIDHeader)
			switch {
			case seen[id]:
				t.Errorf("admission %s arrived twice", id)
			case !want[id]:
				t.Errorf("admission %s is in the stream but the gate never recorded it", id)
			}
			seen[id] = true
		}
	}
	for _, id := range ids {
		if !seen[id] {
			t.Errorf("admission %s was recorded but never reached the stream", id)
		}
	}
	t.Logf("%d admissions recorded, each in the stream once", len(ids))
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
	res, err := enroll.Service().CreateOrder(context.Background(), service.System("test"), service.OrderRequest{
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
	cam := approachFolder(t, "obama2.jpg") // the visitor comes again and again
	data := t.TempDir()
	var logs strings.Builder
	flags := trust(t, srv, enroll)
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
		ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
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
	// The visitor comes again as long as the camera runs, so how many more
	// admissions the gate made is not known in advance; at least the three
	// waited for above are in the outbox.
	if depth < 3 {
		t.Fatalf("outbox holds %d admissions after the offline run; want at least 3", depth)
	}

	srv.Start()
	gate = start()
	_, js := srv.Connect(t)
	deadline := time.Now().Add(waitLimit)
	for {
		info, err := js.Stream(context.Background(), bus.StreamAdmissions)
		if err == nil {
			if i, err := info.Info(context.Background()); err == nil && i.State.Msgs >= uint64(entries) {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the %d admissions made before NATS came back did not reach ADMISSIONS within %v\n%s", entries, waitLimit, logs.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
	// The gate keeps admitting the visitor who keeps coming; a clean stop publishes
	// the rest. Then the stream must hold exactly what the gate recorded, in
	// all three runs: the stream drops re-sends by Nats-Msg-Id, and the
	// outbox marks what was acknowledged.
	gate.Process.Signal(syscall.SIGTERM)
	if err := gate.Wait(); err != nil {
		t.Fatalf("gate exited with %v after SIGTERM\n%s", err, logs.String())
	}
	checkStreamHoldsExactly(t, srv, recorded(t, data))
}

// waitLimit bounds every wait for the gate to do something. It is far above
// what that takes on a loaded machine; reaching it means a hang.
const waitLimit = 2 * time.Minute

func TestMain(m *testing.M) {
	code := m.Run()
	if built != "" {
		os.RemoveAll(filepath.Dir(built))
	}
	os.Exit(code)
}
