// Command demo runs the whole of ScenicGate on one machine: enroll with its
// embedded NATS server, admin, and two gates whose cameras are folders of
// test photos and whose relays are simulators on pseudo-terminals. It enrolls
// demo tickets, prints the admin address and login, and prints every gate
// decision as it happens. Ctrl-C stops everything.
//
// `make demo` builds the programs and runs it.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/scenicgate/scenicgate/internal/config"
)

func main() {
	config.Main("demo", func(args []string) error {
		cfg := defaultConfig()
		fs := config.NewFlagSet("demo [options]")
		cfg.registerFlags(fs)
		if err := config.Parse(fs, args, os.Getenv); err != nil {
			return err
		}
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		d := &demo{cfg: cfg, out: os.Stdout}
		err := d.run(ctx)
		d.stopAll()
		if err != nil && ctx.Err() == nil {
			return err
		}
		fmt.Fprintln(d.out, "demo stopped")
		return nil
	})
}
