package relay_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"

	"github.com/scenicgate/scenicgate/hardware/relay"
)

// A lane without a turnstile (or a demo) uses the log driver; a lane with one
// passes "lcus:/dev/ttyUSB0" or "modbus:/dev/ttyUSB0?addr=1&coil=0" instead.
func Example() {
	// Drop timestamps so the output below stays the same from run to run.
	log := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	}))
	r, err := relay.Open("log", relay.Options{Logger: log})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer r.Close()

	// 0 means the configured length, 300 ms by default.
	if err := r.Pulse(context.Background(), 0); err != nil {
		fmt.Println(err)
		return
	}
	st := r.State()
	fmt.Println(st.Status, st.Pulses)
	// Output:
	// level=INFO msg="relay on" driver=log
	// level=INFO msg="relay off" driver=log
	// ready 1
}

// Hardware failures are *relay.Fault values: the gate shows them on its
// status page and keeps running.
func ExampleFault() {
	r, err := relay.Open("lcus:/dev/nonexistent-relay", relay.Options{
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer r.Close()

	err = r.Pulse(context.Background(), 0)
	if f, ok := errors.AsType[*relay.Fault](err); ok {
		fmt.Println(f.Driver, f.Op, r.State().Status)
	}
	// Output:
	// lcus open fault
}
