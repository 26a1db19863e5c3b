// Command admin is ScenicGate's staff web UI: live admissions, occupancy
// against the site's capacities, ticket search and revoke, gate health and
// manual opening, offline conflicts, audit log and exports.
//
//	admin [options]                                       serve the UI (see --help)
//	admin user add --role admin|operator|viewer [--password P] NAME
//	admin user list
//	admin user disable NAME
//	admin user enable NAME
//	admin public-key                                      print the key gates trust (--trust-admin)
package main

import (
	"context"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/scenicgate/scenicgate/admin/app"
	"github.com/scenicgate/scenicgate/internal/config"
)

func main() { config.Main("admin", run) }

func run(args []string) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if len(args) > 0 && args[0] == "user" {
		return app.UserCommand(ctx, args[1:], os.Stdin, os.Stdout, os.Stderr)
	}
	if len(args) > 0 && args[0] == "public-key" {
		return app.PublicKeyCommand(args[1:], os.Stdout, os.Stderr)
	}
	cfg := app.DefaultConfig()
	log, err := config.Program("admin [options] | admin user add|list|disable|enable [--role R] [--password P] [NAME] | admin public-key", args, cfg.RegisterFlags)
	if err != nil {
		return err
	}
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
