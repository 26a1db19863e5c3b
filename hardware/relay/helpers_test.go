package relay_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/scenicgate/scenicgate/hardware/relay"
	"github.com/scenicgate/scenicgate/hardware/relay/relaysim"
)

// testLogger sends a relay's log to the test log.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(b), "\n"))
	return len(b), nil
}

// fastOptions make the supervisor react within tens of milliseconds.
func fastOptions(t *testing.T) relay.Options {
	return relay.Options{
		Logger:     testLogger(t),
		CheckEvery: 20 * time.Millisecond,
		Backoff:    relay.Backoff{Initial: 10 * time.Millisecond, Max: 50 * time.Millisecond},
	}
}

func startSim(t *testing.T) *relaysim.Sim {
	t.Helper()
	s, err := relaysim.Start(t.TempDir())
	if err != nil {
		t.Fatalf("relaysim.Start: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func openRelay(t *testing.T, spec string, opts relay.Options) relay.Relay {
	t.Helper()
	r, err := relay.Open(spec, opts)
	if err != nil {
		t.Fatalf("Open(%q): %v", spec, err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// openTimed opens a relay whose driver records when it sent each command.
func openTimed(t *testing.T, spec string, opts relay.Options) (relay.Relay, *relay.Recorder) {
	t.Helper()
	r, rec, err := relay.OpenRecorded(spec, opts)
	if err != nil {
		t.Fatalf("Open(%q): %v", spec, err)
	}
	t.Cleanup(func() { r.Close() })
	return r, rec
}

// waitLimit bounds every wait for something the test expects to happen. It
// is far above what it takes even under the race detector on a busy
// machine; a test that hits it has found a hang, not a slow pulse.
const waitLimit = 30 * time.Second

func waitEvents(t *testing.T, s *relaysim.Sim, n int) []relaysim.Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	ev, err := s.WaitEvents(ctx, n)
	if err != nil {
		t.Fatalf("WaitEvents(%d): %v; have %v", n, err, ev)
	}
	return ev
}

// noMoreEvents fails if the simulator receives more than n events in a short
// while.
func noMoreEvents(t *testing.T, s *relaysim.Sim, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if ev, err := s.WaitEvents(ctx, n+1); err == nil {
		t.Errorf("events = %v; want only %d", ev, n)
	}
}

func waitStatus(t *testing.T, r relay.Relay, want relay.Status) relay.State {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for {
		st := r.State()
		if st.Status == want {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("State().Status = %v (err %v); want %v", st.Status, st.Err, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// checkPulse checks that the last two commands the simulator decoded are
// exactly on then off. How long the contact was closed is checked on the
// driver's side (checkHeld): the simulator stamps a frame when its goroutine
// gets to read it, which on a loaded machine can be any time later.
func checkPulse(t *testing.T, ev []relaysim.Event, on, off []byte) {
	t.Helper()
	if len(ev) < 2 {
		t.Fatalf("events = %v; want a pulse", ev)
	}
	gotOn, gotOff := ev[len(ev)-2], ev[len(ev)-1]
	if string(gotOn.Raw) != string(on) || string(gotOff.Raw) != string(off) {
		t.Errorf("pulse sent [% X] then [% X]; want [% X] then [% X]", gotOn.Raw, gotOff.Raw, on, off)
	}
}

// pulse is an "on" the driver sent and the "off" after it.
type pulse struct{ on, off relay.Switch }

// held is how long the contact stayed closed: from the end of the "on"
// command to the start of the "off".
func (p pulse) held() time.Duration { return p.off.Start.Sub(p.on.End) }

// pulsesOf pairs each "on" the driver sent with the "off" that followed it.
func pulsesOf(sw []relay.Switch) []pulse {
	var out []pulse
	for i := 0; i+1 < len(sw); i++ {
		if sw[i].On && !sw[i+1].On {
			out = append(out, pulse{sw[i], sw[i+1]})
		}
	}
	return out
}

// checkHeld checks that the driver sent exactly n pulses and held each for
// at least d, and logs how long it held them. The relay starts its timer
// after the "on" returns and sends the "off" after the timer fires, so a
// pulse can never be shorter than d however loaded the machine is.
func checkHeld(t *testing.T, rec *relay.Recorder, n int, d time.Duration) []pulse {
	t.Helper()
	ps := pulsesOf(rec.Switches())
	if len(ps) != n {
		t.Fatalf("the driver sent %d pulses; want %d", len(ps), n)
	}
	for i, p := range ps {
		if p.held() < d {
			t.Errorf("pulse %d: the driver held the contact %v; want at least %v", i+1, p.held(), d)
		}
		t.Logf("pulse %d held %v (asked for %v)", i+1, p.held(), d)
	}
	return ps
}
