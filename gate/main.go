// Command gate runs one turnstile lane: it matches camera frames against the
// entitlements in its local SQLite mirror and pulses the turnstile's relay.
// It keeps working while NATS is unreachable.
//
//	gate [options]                        run the lane (see --help)
//	gate calibrate [options] DIR          measure face distances on labelled photos
package main

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"
	_ "time/tzdata" // site time zones on gate computers without a zone database

	"github.com/scenicgate/scenicgate/gate/node"
	"github.com/scenicgate/scenicgate/hardware/camera"
	"github.com/scenicgate/scenicgate/internal/config"
	"github.com/scenicgate/scenicgate/internal/httpserve"
)

func main() { config.Main("gate", run) }

// gateGCPercent is the gate's garbage collection target (see run).
const gateGCPercent = 25

func run(args []string) error {
	if len(args) > 0 && args[0] == "calibrate" {
		return runCalibrate(args[1:])
	}
	cfg := node.DefaultConfig()
	log, err := config.Program("gate [options] | gate calibrate [options] DIR", args, cfg.RegisterFlags)
	if err != nil {
		return err
	}
	// Most of a gate's heap is its gallery, kept for the program's life:
	// the Go default of collecting once the heap has doubled would leave
	// room for a second gallery. A lane allocates little per frame, so
	// collecting after a quarter more costs next to nothing. GOGC, when
	// set, decides instead.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gateGCPercent)
	}
	// Every signal that would end the program ends it through Close, which
	// lets the pulse in progress finish and drives the relay off.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()

	n, err := node.New(ctx, cfg, node.Parts{}, log)
	if err != nil {
		return err
	}
	defer n.Close()
	cam, err := camera.Open(cfg.Camera, camera.Options{FPS: cfg.CameraFPS, Loop: true, Width: cfg.CameraWidth, Height: cfg.CameraHeight, Logger: log})
	if err != nil {
		return err
	}
	defer cam.Close()
	if cfg.Listen != "" {
		l, err := net.Listen("tcp", cfg.Listen)
		if err != nil {
			return err
		}
		srv := &http.Server{Handler: n.Handler(), ReadHeaderTimeout: 5 * time.Second,
			ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
		tls := cfg.TLSCert != ""
		httpserve.WarnIfPlain(log, l, tls)
		go func() {
			if err := httpserve.Serve(ctx, srv, l, cfg.TLSCert, cfg.TLSKey, 3*time.Second); err != nil {
				log.Error("gate status server stopped", "err", err)
			}
		}()
		log.Info("gate status listening", "addr", l.Addr().String(), "tls", tls)
	}
	// The camera as the source names itself: a stream URL's password is
	// never logged.
	log.Info("gate running", "id", cfg.ID, "zone", cfg.Zone, "mode", cfg.Mode, "camera", cam.String(), "relay", cfg.Relay)
	if err := n.Run(ctx, cam); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	// SIGTERM: Close finishes the pulse in progress and flushes the outbox.
	return n.Close()
}
