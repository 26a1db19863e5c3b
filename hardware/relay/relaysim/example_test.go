package relaysim_test

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/scenicgate/scenicgate/hardware/relay"
	"github.com/scenicgate/scenicgate/hardware/relay/relaysim"
)

// A relay driver pulses the simulated board; the simulator shows what
// reached the wire.
func Example() {
	sim, err := relaysim.Start("")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer sim.Close()

	r, err := relay.Open("lcus:"+sim.Path(), relay.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer r.Close()
	if err := r.Pulse(context.Background(), relay.MinPulse); err != nil {
		fmt.Println(err)
		return
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// The relay drives the board off when it opens, then pulses it.
	events, err := sim.WaitEvents(ctx, 3)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, e := range events {
		fmt.Println(e)
	}
	// Output:
	// lcus channel 1 off [A0 01 00 A1]
	// lcus channel 1 on [A0 01 01 A2]
	// lcus channel 1 off [A0 01 00 A1]
}
