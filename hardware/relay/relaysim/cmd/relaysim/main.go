// Command relaysim pretends to be a turnstile relay board on a
// pseudo-terminal, for demos and for trying a gate without hardware. It
// prints the port to give the gate, then every command the board receives,
// until interrupted.
//
//	relaysim [-dir DIR] [-modbus-exception CODE] [-modbus-silent]
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/scenicgate/scenicgate/hardware/relay/relaysim"
)

type config struct {
	dir       string
	exception uint
	silent    bool
}

func main() {
	var cfg config
	flag.StringVar(&cfg.dir, "dir", "", "folder for the port link (default: a new temporary folder)")
	flag.UintVar(&cfg.exception, "modbus-exception", 0, "answer Modbus requests with this exception code instead of the echo (0: echo, as a healthy board)")
	flag.BoolVar(&cfg.silent, "modbus-silent", false, "never answer Modbus requests, as an unpowered board")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "relaysim:", err)
		os.Exit(1)
	}
}

// run serves one simulated board until ctx ends.
func run(ctx context.Context, cfg config, out io.Writer) error {
	if cfg.exception > 255 {
		return fmt.Errorf("-modbus-exception %d: a Modbus exception code is one byte", cfg.exception)
	}
	sim, err := relaysim.Start(cfg.dir)
	if err != nil {
		return err
	}
	defer sim.Close()
	sim.SetModbusAnswer(relaysim.ModbusAnswer{Exception: byte(cfg.exception), Silent: cfg.silent})

	fmt.Fprintf(out, "relay board on %s (%s)\n", sim.Path(), sim.Device())
	fmt.Fprintf(out, "  gate --relay lcus:%s\n", sim.Path())
	fmt.Fprintf(out, "  gate --relay 'modbus:%s?addr=1&coil=0'\n", sim.Path())
	seen := 0
	for {
		events, err := sim.WaitEvents(ctx, seen+1)
		for _, e := range events[seen:] {
			fmt.Fprintf(out, "%s %v\n", e.At.Format("15:04:05.000"), e)
		}
		seen = len(events)
		if err != nil {
			if junk := sim.Undecoded(); len(junk) > 0 {
				fmt.Fprintf(out, "undecoded bytes: % X\n", junk)
			}
			return nil // ctx ended: a normal stop
		}
	}
}
