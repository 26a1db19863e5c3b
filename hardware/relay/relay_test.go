package relay_test

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/scenicgate/scenicgate/hardware/relay"
	"github.com/scenicgate/scenicgate/hardware/relay/relaysim"
)

var (
	lcus1On   = []byte{0xA0, 0x01, 0x01, 0xA2}
	lcus1Off  = []byte{0xA0, 0x01, 0x00, 0xA1}
	modbusOn  = []byte{0x01, 0x05, 0x00, 0x00, 0xFF, 0x00, 0x8C, 0x3A}
	modbusOff = []byte{0x01, 0x05, 0x00, 0x00, 0x00, 0x00, 0xCD, 0xCA}
)

func TestPulse(t *testing.T) {
	tests := []struct {
		name, params string
		modbus       bool
		on, off      []byte
	}{
		{"lcus default channel", "", false, lcus1On, lcus1Off},
		{"lcus channel 2", "?channel=2", false, []byte{0xA0, 0x02, 0x01, 0xA3}, []byte{0xA0, 0x02, 0x00, 0xA2}},
		{"modbus addr 1 coil 0", "?addr=1&coil=0&baud=9600", true, modbusOn, modbusOff},
		{"modbus defaults", "", true, modbusOn, modbusOff},
		{"modbus addr 2 coil 3", "?addr=2&coil=3", true,
			[]byte{0x02, 0x05, 0x00, 0x03, 0xFF, 0x00, 0x7C, 0x09}, []byte{0x02, 0x05, 0x00, 0x03, 0x00, 0x00, 0x3D, 0xF9}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sim := startSim(t)
			driver := "lcus:"
			if tt.modbus {
				driver = "modbus:"
			}
			r, rec := openTimed(t, driver+sim.Path()+tt.params, fastOptions(t))
			// Open first drives the relay off, to a known state.
			if ev := waitEvents(t, sim, 1); !bytes.Equal(ev[0].Raw, tt.off) {
				t.Fatalf("first command = [% X]; want off [% X]", ev[0].Raw, tt.off)
			}
			const d = 150 * time.Millisecond
			if err := r.Pulse(context.Background(), d); err != nil {
				t.Fatalf("Pulse: %v", err)
			}
			checkPulse(t, waitEvents(t, sim, 3), tt.on, tt.off)
			checkHeld(t, rec, 1, d)
			noMoreEvents(t, sim, 3)
			if junk := sim.Undecoded(); len(junk) != 0 {
				t.Errorf("simulator could not decode % X", junk)
			}
			st := r.State()
			if st.Status != relay.Ready || st.Err != nil || st.Pulses != 1 || st.LastPulse.IsZero() {
				t.Errorf("State() = %+v; want Ready with 1 pulse", st)
			}
		})
	}
}

// TestFlashPulse: with flash=1 a Modbus pulse begins with the board's
// "flash on" for the pulse's length, so the board ends it by itself; the
// relay still sends its "off" at the end. A board without the function
// refuses it, and the relay shows the fault.
func TestFlashPulse(t *testing.T) {
	sim := startSim(t)
	r, rec := openTimed(t, "modbus:"+sim.Path()+"?addr=1&coil=1&flash=1", fastOptions(t))
	off := []byte{0x01, 0x05, 0x00, 0x01, 0x00, 0x00, 0x9C, 0x0A}
	if ev := waitEvents(t, sim, 1); !bytes.Equal(ev[0].Raw, off) {
		t.Fatalf("first command = [% X]; want off [% X]", ev[0].Raw, off)
	}
	const d = 250 * time.Millisecond
	if err := r.Pulse(context.Background(), d); err != nil {
		t.Fatalf("Pulse: %v", err)
	}
	// 250 ms is asked of the board as three tenths of a second.
	flash := []byte{0x01, 0x05, 0x02, 0x01, 0x00, 0x03, 0xDD, 0xB3}
	ev := waitEvents(t, sim, 3)
	if !bytes.Equal(ev[1].Raw, flash) || ev[1].Flash != 300*time.Millisecond || !bytes.Equal(ev[2].Raw, off) {
		t.Fatalf("relay commands %v; want off, flash on for 300ms [% X], off", ev, flash)
	}
	checkHeld(t, rec, 1, d)
	if junk := sim.Undecoded(); len(junk) != 0 {
		t.Errorf("simulator could not decode % X", junk)
	}

	sim.SetModbusAnswer(relaysim.ModbusAnswer{Exception: 2})
	err := r.Pulse(context.Background(), d)
	var exc *relay.ExceptionError
	if !errors.As(err, &exc) || exc.Code != 2 {
		t.Errorf("Pulse on a board without flash = %v; want its exception 2", err)
	}
}

func TestModbusBoardFaults(t *testing.T) {
	tests := []struct {
		name   string
		answer relaysim.ModbusAnswer
		is     func(error) bool
	}{
		{"exception", relaysim.ModbusAnswer{Exception: 2}, func(err error) bool {
			var exc *relay.ExceptionError
			return errors.As(err, &exc) && exc.Code == 2 && exc.Addr == 1 && exc.Function == 0x05
		}},
		{"no reply", relaysim.ModbusAnswer{Silent: true}, func(err error) bool { return errors.Is(err, relay.ErrNoReply) }},
		{"bad CRC", relaysim.ModbusAnswer{CorruptCRC: true}, func(err error) bool { return errors.Is(err, relay.ErrBadCRC) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sim := startSim(t)
			r, rec := openTimed(t, "modbus:"+sim.Path()+"?timeout=200ms", fastOptions(t))
			waitStatus(t, r, relay.Ready)

			sim.SetModbusAnswer(tt.answer)
			err := r.Pulse(context.Background(), relay.MinPulse)
			var f *relay.Fault
			if !errors.As(err, &f) || f.Op != "on" || f.Driver != "modbus" || f.Port != sim.Path() || !tt.is(err) {
				t.Fatalf("Pulse = %v; want a *Fault for %q with op on", err, tt.name)
			}
			st := r.State()
			if st.Status != relay.Faulty || !tt.is(st.Err) || st.FaultSince.IsZero() || st.Failures != 1 {
				t.Errorf("State() = %+v; want Faulty with the pulse's error", st)
			}

			// The board behaves again: the supervisor's probe clears the
			// fault without any pulse.
			sim.SetModbusAnswer(relaysim.ModbusAnswer{})
			waitStatus(t, r, relay.Ready)
			if err := r.Pulse(context.Background(), relay.MinPulse); err != nil {
				t.Fatalf("Pulse after recovery: %v", err)
			}
			checkPulse(t, waitEvents(t, sim, len(sim.Events())), modbusOn, modbusOff)
			checkHeld(t, rec, 1, relay.MinPulse)
		})
	}
}

// TestUnplugged pulls the port out while the relay is idle, pulses into the
// fault, and plugs it back in.
func TestUnplugged(t *testing.T) {
	sim := startSim(t)
	r, rec := openTimed(t, "lcus:"+sim.Path(), fastOptions(t))
	waitEvents(t, sim, 1)
	if err := sim.Unplug(); err != nil {
		t.Fatal(err)
	}

	st := waitStatus(t, r, relay.Faulty)
	var f *relay.Fault
	if !errors.As(st.Err, &f) || f.Op != "watch" || !errors.Is(f, fs.ErrNotExist) {
		t.Errorf("State().Err = %v; want a watch fault for the missing port", st.Err)
	}
	err := r.Pulse(context.Background(), relay.MinPulse)
	if !errors.As(err, &f) || f.Op != "open" || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Pulse while unplugged = %v; want an open fault", err)
	}
	if st := r.State(); st.Failures != 1 {
		t.Errorf("State().Failures = %d; want 1", st.Failures)
	}

	before := len(sim.Events())
	if err := sim.Plug(); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, r, relay.Ready)
	// Ready follows the "off" that probed the port again; the simulator
	// may read it a moment later.
	if ev := waitEvents(t, sim, before+1); !bytes.Equal(ev[before].Raw, lcus1Off) {
		t.Errorf("first command after plugging back in = [% X]; want off", ev[before].Raw)
	}
	n := before + 1
	if err := r.Pulse(context.Background(), relay.MinPulse); err != nil {
		t.Fatalf("Pulse after plugging back in: %v", err)
	}
	checkPulse(t, waitEvents(t, sim, n+2), lcus1On, lcus1Off)
	checkHeld(t, rec, 1, relay.MinPulse)
}

// TestStalePort unplugs and replugs the port faster than the supervisor
// looks: the relay's open file is dead, but the path works again. The next
// pulse must go through.
func TestStalePort(t *testing.T) {
	sim := startSim(t)
	opts := fastOptions(t)
	opts.CheckEvery = time.Hour
	r, rec := openTimed(t, "lcus:"+sim.Path(), opts)
	waitEvents(t, sim, 1)
	if err := sim.Unplug(); err != nil {
		t.Fatal(err)
	}
	if err := sim.Plug(); err != nil {
		t.Fatal(err)
	}
	if err := r.Pulse(context.Background(), relay.MinPulse); err != nil {
		t.Fatalf("Pulse on a replugged port: %v", err)
	}
	ev := waitEvents(t, sim, 3)
	checkPulse(t, ev, lcus1On, lcus1Off)
	checkHeld(t, rec, 1, relay.MinPulse)
	if st := r.State(); st.Status != relay.Ready || st.Failures != 0 {
		t.Errorf("State() = %+v; want Ready with no failures", st)
	}
}

// TestPortMissingAtOpen starts a gate whose relay is not plugged in yet.
func TestPortMissingAtOpen(t *testing.T) {
	sim := startSim(t)
	if err := sim.Unplug(); err != nil {
		t.Fatal(err)
	}
	r, err := relay.Open("lcus:"+sim.Path(), fastOptions(t))
	if err != nil {
		t.Fatalf("Open with the port missing = %v; want a relay that reports the fault", err)
	}
	defer r.Close()
	st := r.State()
	var f *relay.Fault
	if st.Status != relay.Faulty || !errors.As(st.Err, &f) || f.Op != "open" {
		t.Errorf("State() after Open = %+v; want Faulty with an open fault", st)
	}
	if err := sim.Plug(); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, r, relay.Ready)
	if ev := waitEvents(t, sim, 1); !bytes.Equal(ev[0].Raw, lcus1Off) {
		t.Errorf("first command after plugging in = [% X]; want off", ev[0].Raw)
	}
}

func TestCancelMidPulse(t *testing.T) {
	for _, tt := range []struct {
		driver  string
		on, off []byte
	}{
		{"lcus", lcus1On, lcus1Off},
		{"modbus", modbusOn, modbusOff},
	} {
		t.Run(tt.driver, func(t *testing.T) {
			sim := startSim(t)
			r := openRelay(t, tt.driver+":"+sim.Path(), fastOptions(t))
			waitEvents(t, sim, 1)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			go func() {
				// Cancel once the contact is closed.
				ctx, stop := context.WithTimeout(context.Background(), waitLimit)
				defer stop()
				sim.WaitEvents(ctx, 2)
				cancel()
			}()
			err := r.Pulse(ctx, time.Minute)
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("Pulse cancelled mid-pulse = %v; want context.Canceled", err)
			}
			ev := waitEvents(t, sim, 3)
			if !bytes.Equal(ev[1].Raw, tt.on) || !bytes.Equal(ev[2].Raw, tt.off) {
				t.Errorf("commands = %v; want on then off", ev)
			}
			// The off was confirmed, so nothing needs sending again.
			noMoreEvents(t, sim, 3)
			if st := r.State(); st.Status != relay.Ready || st.Pulses != 0 {
				t.Errorf("State() = %+v; want Ready with no completed pulse", st)
			}
		})
	}
}

func TestQueuedPulseGivesUp(t *testing.T) {
	sim := startSim(t)
	r := openRelay(t, "lcus:"+sim.Path(), fastOptions(t))
	waitEvents(t, sim, 1)
	first := make(chan error, 1)
	go func() { first <- r.Pulse(context.Background(), 300*time.Millisecond) }()
	waitEvents(t, sim, 2)

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := r.Pulse(ctx, relay.MinPulse); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("queued Pulse whose context ends = %v; want DeadlineExceeded", err)
	}
	if err := <-first; err != nil {
		t.Errorf("first Pulse: %v", err)
	}
	waitEvents(t, sim, 3)
	noMoreEvents(t, sim, 3)
}

func TestConcurrentPulses(t *testing.T) {
	sim := startSim(t)
	r, rec := openTimed(t, "lcus:"+sim.Path(), fastOptions(t))
	waitEvents(t, sim, 1)
	const n = 4
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Go(func() { errs <- r.Pulse(context.Background(), relay.MinPulse) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("Pulse: %v", err)
		}
	}
	ev := waitEvents(t, sim, 1+2*n)
	noMoreEvents(t, sim, 1+2*n)
	for i := 1; i < len(ev); i += 2 {
		checkPulse(t, ev[i:i+2], lcus1On, lcus1Off)
	}
	ps := checkHeld(t, rec, n, relay.MinPulse)
	for i := 1; i < len(ps); i++ {
		// The relay waits the gap from the end of the previous "off".
		if gap := ps[i].on.Start.Sub(ps[i-1].off.End); gap < relay.DefaultGap {
			t.Errorf("pulse %d began %v after the previous one ended; want at least %v", i+1, gap, relay.DefaultGap)
		}
	}
	if junk := sim.Undecoded(); len(junk) != 0 {
		t.Errorf("interleaved bytes: simulator could not decode % X", junk)
	}
	if st := r.State(); st.Pulses != n {
		t.Errorf("State().Pulses = %d; want %d", st.Pulses, n)
	}
}

func TestClose(t *testing.T) {
	sim := startSim(t)
	r := openRelay(t, "lcus:"+sim.Path(), fastOptions(t))
	waitEvents(t, sim, 1)

	inProgress := make(chan error, 1)
	go func() { inProgress <- r.Pulse(context.Background(), 300*time.Millisecond) }()
	waitEvents(t, sim, 2)
	queued := make(chan error, 1)
	go func() { queued <- r.Pulse(context.Background(), relay.MinPulse) }()
	for r.State().WaitingPulses == 0 {
		time.Sleep(time.Millisecond)
	}

	if err := r.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := <-inProgress; err != nil {
		t.Errorf("Pulse in progress at Close = %v; want it finished", err)
	}
	if err := <-queued; !errors.Is(err, relay.ErrClosed) {
		t.Errorf("Pulse queued at Close = %v; want ErrClosed", err)
	}
	if ev := waitEvents(t, sim, 3); !bytes.Equal(ev[2].Raw, lcus1Off) {
		t.Errorf("last command = [% X]; want off", ev[2].Raw)
	}
	if err := r.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := r.Pulse(context.Background(), 0); !errors.Is(err, relay.ErrClosed) {
		t.Errorf("Pulse after Close = %v; want ErrClosed", err)
	}
	if st := r.State(); st.Status != relay.Closed {
		t.Errorf("State().Status after Close = %v; want closed", st.Status)
	}
	noMoreEvents(t, sim, 3)
}

func TestBadSpec(t *testing.T) {
	tests := []struct {
		spec, want string
	}{
		{"", "no driver"},
		{"/dev/ttyUSB0", "no driver"},
		{"usb:/dev/ttyUSB0", `unknown driver "usb"`},
		{"lcus", "lcus needs a port"},
		{"lcus:", "lcus needs a port"},
		{"modbus:?addr=1", "modbus needs a port"},
		{"log:/dev/ttyUSB0", "log driver takes no port"},
		{"lcus:/dev/ttyUSB0?channel=0", "channel 0 is out of range 1..255"},
		{"lcus:/dev/ttyUSB0?channel=256", "channel 256 is out of range 1..255"},
		{"lcus:/dev/ttyUSB0?channel=two", `channel "two" is not a whole number`},
		{"lcus:/dev/ttyUSB0?chanel=2", `unknown parameter "chanel"`},
		{"lcus:/dev/ttyUSB0?addr=1", `unknown parameter "addr"`},
		{"lcus:/dev/ttyUSB0?channel=1&channel=2", `parameter "channel" given 2 times`},
		{"lcus:/dev/ttyUSB0?channel=%zz", "parameters:"},
		{"modbus:/dev/ttyUSB0?addr=0", "addr 0 is out of range 1..247"},
		{"modbus:/dev/ttyUSB0?addr=248", "addr 248 is out of range 1..247"},
		{"modbus:/dev/ttyUSB0?coil=65536", "coil 65536 is out of range 0..65535"},
		{"modbus:/dev/ttyUSB0?coil=-1", "coil -1 is out of range"},
		{"modbus:/dev/ttyUSB0?baud=9601", "baud 9601 is not supported"},
		{"modbus:/dev/ttyUSB0?timeout=fast", `timeout "fast" is not a duration`},
		{"modbus:/dev/ttyUSB0?timeout=1h", "timeout 1h0m0s is out of range"},
		{"modbus:/dev/ttyUSB0?channel=1", `unknown parameter "channel"`},
		{"modbus:/dev/ttyUSB0?flash=yes", `flash "yes" is not a whole number`},
		{"modbus:/dev/ttyUSB0?flash=2", "flash 2 is out of range 0..1"},
		{"modbus:/dev/ttyUSB0?coil=256&flash=1", "flash names relays 0..255; coil 256 is beyond"},
		{"lcus:/dev/ttyUSB0?flash=1", `unknown parameter "flash"`},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			r, err := relay.Open(tt.spec, relay.Options{})
			if err == nil {
				r.Close()
				t.Fatalf("Open(%q) succeeded; want ErrBadSpec", tt.spec)
			}
			if !errors.Is(err, relay.ErrBadSpec) || !bytes.Contains([]byte(err.Error()), []byte(tt.want)) {
				t.Errorf("Open(%q) = %v; want ErrBadSpec saying %q", tt.spec, err, tt.want)
			}
		})
	}
}

// Good specs open even when the port does not exist; the relay reports the
// fault instead.
func TestGoodSpec(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "ttyUSB9")
	tests := []struct {
		spec, driver, port string
	}{
		{"log", "log", ""},
		{"lcus:" + missing, "lcus", missing},
		{"lcus:" + missing + "?channel=8&baud=19200", "lcus", missing},
		{"modbus:" + missing + "?addr=247&coil=65535&baud=115200&timeout=10ms", "modbus", missing},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			r := openRelay(t, tt.spec, fastOptions(t))
			st := r.State()
			if st.Driver != tt.driver || st.Port != tt.port {
				t.Errorf("State() = %+v; want driver %q port %q", st, tt.driver, tt.port)
			}
		})
	}
}
