// Command admin is ScenicGate's staff web UI: live admissions, occupancy
// against the site's capacities, ticket search and revoke, gate health and
// manual opening, offline conflicts, audit log and exports.
//
//	admin [options]                                       serve the UI (see --help)
//	admin user add --role admin|operator|viewer [--password P] NAME
//	admin user list
//	admin user disable NAME
//	admin user enable NAME
package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/scenicgate/scenicgate/admin/app"
	"github.com/scenicgate/scenicgate/internal/config"
	"github.com/scenicgate/scenicgate/internal/logging"
)

func main() { config.Main("admin", run) }

func run(args []string) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if len(args) > 0 && args[0] == "user" {
		return app.UserCommand(ctx, args[1:], os.Stdin, os.Stdout, os.Stderr)
	}
	cfg := app.DefaultConfig()
	fs := config.NewFlagSet("admin [options] | admin user add|list|disable|enable [--role R] [--password P] [NAME]")
	cfg.RegisterFlags(fs)
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	if err := config.Parse(fs, args, os.Getenv); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return config.UsageError{Msg: fmt.Sprintf("unknown command %q", fs.Arg(0))}
	}
	log := logging.New(os.Stderr, *logLevel)
	a, err := app.New(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer a.Close()
	l, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return err
	}
	return a.Serve(ctx, l)
}
