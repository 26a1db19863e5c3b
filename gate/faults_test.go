package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/scenicgate/scenicgate/enroll/app"
	"github.com/scenicgate/scenicgate/enroll/service"
	"github.com/scenicgate/scenicgate/gate/store"
	"github.com/scenicgate/scenicgate/hardware/relay/relaysim"
	"github.com/scenicgate/scenicgate/internal/bus"
	"github.com/scenicgate/scenicgate/internal/bus/bustest"
	"github.com/scenicgate/scenicgate/internal/rules"
	"github.com/scenicgate/scenicgate/internal/testenv"
)

var (
	faultsOnce  sync.Once
	faultsBuilt string
	faultsErr   error
)

// buildFaultGate builds this program with -tags faultpoints, in which
// $SCENICGATE_FAULTPOINT stops it for good at a named point.
func buildFaultGate(t testing.TB) string {
	faultsOnce.Do(func() {
		dir, err := os.MkdirTemp("", "gate-faults-bin-")
		if err != nil {
			faultsErr = err
			return
		}
		faultsBuilt = filepath.Join(dir, "gate")
		if out, err := exec.Command("go", "build", "-tags", "faultpoints", "-o", faultsBuilt, ".").CombinedOutput(); err != nil {
			faultsErr = fmt.Errorf("go build -tags faultpoints: %v\n%s", err, out)
		}
	})
	if faultsErr != nil {
		t.Fatal(faultsErr)
	}
	return faultsBuilt
}

// lane is what a test needs to run the gate program: enroll with a ticket
// for the visitor in the camera's folder, and a relay simulator.
type lane struct {
	srv    *bustest.Server
	enroll *app.App
	ticket string
	sim    *relaysim.Sim
	camera string
	flags  []string
	logs   *jsonLog
}

// startLane starts NATS and enroll with one ticket of ticketType for the
// visitor the camera shows, and a relay simulator.
func startLane(t *testing.T, id, ticketType string) *lane {
	t.Helper()
	l := &lane{srv: bustest.Embedded(t), logs: &jsonLog{}}
	cfg := app.DefaultConfig()
	cfg.Data, cfg.NATS, cfg.Models, cfg.Workers = t.TempDir(), l.srv.Options(t, bus.Enroll()), testenv.ModelDir(t), 1
	var err error
	if l.enroll, err = app.New(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil))); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.enroll.Close() })
	res, err := l.enroll.Service().CreateOrder(context.Background(), service.System("test"), service.OrderRequest{
		OrderID: "o-" + id, Consent: true,
		Visitors: []service.VisitorRequest{{Name: "v", TicketType: ticketType, ValidFrom: rules.Site{}.Day(time.Now()).String(),
			Photos: [][]byte{testenv.Photo(t, "obama.jpg")}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	l.ticket = res.Tickets[0].ID
	if l.sim, err = relaysim.Start(t.TempDir()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.sim.Close() })
	l.camera = approachFolder(t, "obama2.jpg")
	l.flags = append(trust(t, l.srv, l.enroll), "--id", id, "--camera", l.camera, "--camera-fps", "10",
		"--nats", l.srv.URL, "--nats-creds", l.srv.Creds(t, bus.Gate(id)), "--models", testenv.ModelDir(t),
		"--listen", "", "--workers", "1", "--cooldown", "1s")
	return l
}

// run starts the program bin (with args before the lane's flags) and
// returns it; its log goes to l.logs.
func (l *lane) run(t *testing.T, bin string, env []string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(bin, append(args, l.flags...)...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stderr = l.logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd
}

// waitEvents waits for n relay commands in all.
func (l *lane) waitEvents(t *testing.T, n int) []relaysim.Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	ev, err := l.sim.WaitEvents(ctx, n)
	if err != nil {
		t.Fatalf("waiting for %d relay commands: %v; got %v\n%s", n, err, ev, l.logs)
	}
	return ev
}

// jsonLog collects what a program logs, one JSON object a line, and lets
// tests wait for a message.
type jsonLog struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (j *jsonLog) Write(p []byte) (int, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.buf.Write(p)
}

func (j *jsonLog) String() string {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.buf.String()
}

// records returns the log records whose message is msg.
func (j *jsonLog) records(msg string) []map[string]any {
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(j.String()))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var r map[string]any
		if json.Unmarshal(sc.Bytes(), &r) == nil && r["msg"] == msg {
			out = append(out, r)
		}
	}
	return out
}

// wait waits until the log holds text.
func (j *jsonLog) wait(t *testing.T, text string) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for !strings.Contains(j.String(), text) {
		if time.Now().After(deadline) {
			t.Fatalf("the program never logged %q:\n%s", text, j)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestKillBetweenClaimAndRecord kills a gate the moment it has claimed a
// single-use ticket's entry in REDEMPTIONS, before it recorded the decision
// or opened the turnstile. The claim cannot be taken back; the restarted
// gate must find it its own and let the visitor in with it, once.
func TestKillBetweenClaimAndRecord(t *testing.T) {
	bin := buildFaultGate(t)
	l := startLane(t, "claim-1", "single")
	data := t.TempDir()
	gate := l.run(t, bin, []string{"SCENICGATE_FAULTPOINT=after-claim"}, "--data", data, "--relay", "lcus:"+l.sim.Path())
	l.logs.wait(t, "faultpoint after-claim")
	_, js := l.srv.Connect(t)
	kv, err := js.KeyValue(context.Background(), bus.BucketRedemptions)
	if err != nil {
		t.Fatal(err)
	}
	claim, err := kv.Get(context.Background(), bus.RedemptionKey(l.ticket, 1))
	if err != nil {
		t.Fatalf("the gate stopped at its claim, but REDEMPTIONS has none: %v", err)
	}
	gate.Process.Signal(syscall.SIGKILL)
	gate.Wait()
	if ev := l.sim.Events(); len(ev) != 1 || ev[0].On {
		t.Fatalf("relay commands before the kill: %v; want only the initial off", ev)
	}

	gate = l.run(t, buildGate(t), nil, "--data", data, "--relay", "lcus:"+l.sim.Path())
	ev := l.waitEvents(t, 4) // the first run's off; this run's off, on, off
	if !ev[2].On || ev[3].On {
		t.Fatalf("relay commands after the restart: %v; want the turnstile opened once", ev[1:])
	}
	time.Sleep(3 * time.Second) // the visitor comes again: a single-use ticket opens no second time
	gate.Process.Signal(syscall.SIGTERM)
	if err := gate.Wait(); err != nil {
		t.Fatalf("gate exited with %v after SIGTERM\n%s", err, l.logs)
	}
	if ev := l.sim.Events(); len(ev) != 4 {
		t.Errorf("relay commands %v; want the single-use ticket admitted once", ev)
	}
	st, err := store.Open(context.Background(), data)
	if err != nil {
		t.Fatal(err)
	}
	entries, _, last, _ := st.Usage(context.Background(), l.ticket, rules.Site{}.Day(time.Now()).String())
	claims, _ := st.Claims(context.Background())
	st.Close()
	if entries != 1 || last != 1 || len(claims) != 0 {
		t.Errorf("the gate recorded %d entries (last number %d) and keeps %d claims; want entry 1 recorded and no claim left", entries, last, len(claims))
	}
	var admitted string
	for _, r := range l.logs.records("gate decision") {
		if r["allow"] == true {
			admitted, _ = r["event"].(string)
		}
	}
	if f := strings.Fields(string(claim.Value())); len(f) < 2 || f[1] != admitted {
		t.Errorf("the claim %q does not name the admission that used it, %s", claim.Value(), admitted)
	}
	checkStreamHoldsExactly(t, l.srv, recorded(t, data))
}

// TestGateOnAFullDisk runs a gate whose data folder is a 2 MB tmpfs and
// fills it while a visitor with a day pass keeps coming. The turnstile keeps
// opening, every decision reaches ADMISSIONS once, /healthz says the disk is
// full; once there is room again, the decisions held in memory are written.
func TestGateOnAFullDisk(t *testing.T) {
	l := startLane(t, "disk-1", "day_pass")
	data := t.TempDir()
	addr := freeAddr(t)
	args := append([]string{buildGate(t)}, l.flags...)
	args = append(args, "--data", data, "--relay", "lcus:"+l.sim.Path(), "--listen", addr) // the later flag wins
	argv := testenv.OnTmpfs(t, data, "2m", "", "TestFullDiskKeepsEveryDecision covers a full disk", args...)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stderr = l.logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	l.waitEvents(t, 3) // the initial off, then the visitor let in

	fill := testenv.Fill(t, cmd.Process.Pid, data)
	full := len(l.sim.Events())
	l.logs.wait(t, "decision not recorded on disk")
	l.waitEvents(t, full+6) // three more openings with the disk full
	health := healthz(t, addr)
	if !strings.Contains(strings.Join(health.Faults, "\n"), "disk: full") {
		t.Errorf("healthz with the disk full: %d %q; want 503 naming the disk", health.code, health.Faults)
	}
	if health.code != http.StatusServiceUnavailable {
		t.Errorf("healthz with the disk full answered %d; want 503", health.code)
	}

	os.Remove(fill)
	deadline := time.Now().Add(waitLimit)
	for strings.Contains(strings.Join(healthz(t, addr).Faults, "\n"), "disk:") {
		if time.Now().After(deadline) {
			t.Fatalf("the disk fault did not clear once there was room:\n%s", l.logs)
		}
		time.Sleep(200 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("gate exited with %v after SIGTERM\n%s", err, l.logs)
	}
	var decided []string
	for _, r := range l.logs.records("gate decision") {
		id, _ := r["event"].(string)
		decided = append(decided, id)
	}
	held := len(l.logs.records("decision not recorded on disk; held in memory and sent straight to NATS"))
	if lost := l.logs.records("decision never written to the gate's disk"); len(lost) != 0 {
		t.Errorf("%d decisions never written, though the disk had room again: %v", len(lost), lost)
	}
	opened := 0
	for _, e := range l.sim.Events() {
		if e.On {
			opened++
		}
	}
	t.Logf("%d decisions, %d of them while the disk was full; the turnstile opened %d times", len(decided), held, opened)
	if opened != len(decided) {
		t.Errorf("the turnstile opened %d times for %d decisions", opened, len(decided))
	}
	checkStreamHoldsExactly(t, l.srv, decided)
}

type health struct {
	code   int
	Faults []string
}

func healthz(t *testing.T, addr string) health {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	h := health{code: resp.StatusCode}
	json.NewDecoder(resp.Body).Decode(&h)
	return h
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// TestKilledMidPulse kills a gate while its turnstile is open. A Modbus
// board pulsed with its flash command opens the contact by itself when the
// pulse is over; an LCUS board stays closed until the gate starts again,
// whose first command is "off".
func TestKilledMidPulse(t *testing.T) {
	const pulse = 2 * time.Second
	t.Run("modbus flash", func(t *testing.T) {
		l := startLane(t, "flash-1", "day_pass")
		gate := l.run(t, buildGate(t), nil, "--data", t.TempDir(), "--pulse", pulse.String(),
			"--relay", "modbus:"+l.sim.Path()+"?addr=1&coil=0&flash=1")
		ev := l.waitEvents(t, 2) // the initial off, then the flash
		on := ev[1]
		if on.Flash != pulse {
			t.Fatalf("relay commands %v; want a flash of %v", ev, pulse)
		}
		gate.Process.Signal(syscall.SIGKILL)
		gate.Wait()
		ev = l.waitEvents(t, 3)
		if !ev[2].Timer {
			t.Fatalf("relay events after the kill: %v; want the board's own off", ev[2:])
		}
		held := ev[2].At.Sub(on.At)
		t.Logf("the contact opened by itself %v after the flash began (pulse %v)", held.Round(time.Millisecond), pulse)
		if held < pulse-100*time.Millisecond {
			t.Errorf("the board opened after %v; want the whole pulse, %v", held, pulse)
		}
	})
	t.Run("lcus", func(t *testing.T) {
		l := startLane(t, "lcus-1", "day_pass")
		data := t.TempDir()
		args := []string{"--data", data, "--pulse", pulse.String(), "--relay", "lcus:" + l.sim.Path()}
		gate := l.run(t, buildGate(t), nil, args...)
		ev := l.waitEvents(t, 2)
		if !ev[1].On {
			t.Fatalf("relay commands %v; want off, then on", ev)
		}
		gate.Process.Signal(syscall.SIGKILL)
		gate.Wait()
		killed := time.Now()
		time.Sleep(pulse + time.Second)
		if ev := l.sim.Events(); len(ev) != 2 {
			t.Fatalf("relay commands after the kill: %v; an LCUS board has no timer", ev)
		}
		restarted := time.Now()
		l.run(t, buildGate(t), nil, args...)
		ev = l.waitEvents(t, 3)
		if ev[2].On {
			t.Fatalf("the restarted gate's first command: %v; want off", ev[2])
		}
		t.Logf("the restarted gate drove the relay off %v after it started (%v after the kill)",
			ev[2].At.Sub(restarted).Round(time.Millisecond), ev[2].At.Sub(killed).Round(time.Millisecond))
	})
}
