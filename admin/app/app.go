// Package app assembles the admin program from its parts: the store, the
// NATS connection, the ingest loops, the operations and the web UI. main
// only parses flags and calls it; tests start the same program in-process.
package app

import (
	"context"
	"crypto/ed25519"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/scenicgate/scenicgate/admin/enrollclient"
	"github.com/scenicgate/scenicgate/admin/ingest"
	"github.com/scenicgate/scenicgate/admin/live"
	"github.com/scenicgate/scenicgate/admin/service"
	"github.com/scenicgate/scenicgate/admin/store"
	"github.com/scenicgate/scenicgate/admin/web"
	"github.com/scenicgate/scenicgate/internal/bus"
	"github.com/scenicgate/scenicgate/internal/httpserve"
	"github.com/scenicgate/scenicgate/internal/signed"
)

// DefaultNATS is where admin looks for NATS unless told otherwise: the
// server enroll embeds on a single machine.
const DefaultNATS = "nats://127.0.0.1:4222"

// Config is everything admin can be told on its command line.
type Config struct {
	Data      string
	Listen    string
	NATS      bus.Options
	EnrollURL string
	EnrollKey string
	TLSCert   string
	TLSKey    string
	// SecureCookies says a TLS proxy in front of admin serves it over
	// HTTPS: cookies are marked Secure and answers carry HSTS, as when
	// admin serves TLS itself.
	SecureCookies bool
	// SessionCheck is how often an open live feed checks that its session
	// is still valid.
	SessionCheck time.Duration
	Service      service.Config

	// EnrollCA is the CA certificate enroll's TLS certificate must chain
	// to; empty trusts the system's authorities.
	EnrollCA string
}

// DefaultConfig returns the defaults printed by --help.
func DefaultConfig() Config {
	return Config{
		Data:         "var/admin",
		Listen:       "127.0.0.1:8080",
		NATS:         bus.Options{URL: DefaultNATS, Replicas: 1},
		EnrollURL:    "http://127.0.0.1:8081",
		SessionCheck: web.DefaultSessionCheck,
		Service:      service.DefaultConfig(),
	}
}

// RegisterFlags binds the serving flags to c, with c's values as defaults.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.Data, "data", c.Data, "folder for admin.db")
	fs.StringVar(&c.Listen, "listen", c.Listen, "HTTP address of the staff UI")
	// admin never embeds a server, so --nats always names one.
	c.NATS.RegisterFlags(fs, "NATS server URL(s), comma-separated (required: admin does not embed a server)")
	fs.StringVar(&c.EnrollURL, "enroll-url", c.EnrollURL, "base URL of the enroll API, for ticket search, revoke and erase")
	fs.StringVar(&c.EnrollKey, "enroll-key", c.EnrollKey, "enroll API key with the staff scope (create one with `enroll apikey create --name admin --scope staff`)")
	fs.StringVar(&c.EnrollCA, "enroll-ca", c.EnrollCA, "CA certificate (PEM) that enroll's TLS certificate is issued by, for an https --enroll-url (empty: the system's)")
	fs.StringVar(&c.TLSCert, "tls-cert", c.TLSCert, "TLS certificate file; serve HTTPS with --tls-key")
	fs.StringVar(&c.TLSKey, "tls-key", c.TLSKey, "TLS key file")
	fs.BoolVar(&c.SecureCookies, "secure-cookies", c.SecureCookies, "browsers reach admin over HTTPS through a TLS proxy: mark cookies Secure and send HSTS (implied by --tls-cert)")
	fs.DurationVar(&c.SessionCheck, "session-check", c.SessionCheck, "how often an open live feed checks that its session is still valid (logged out, expired, user disabled)")
	fs.DurationVar(&c.Service.SessionTTL, "session-ttl", c.Service.SessionTTL, "log staff out after this long without use")
	fs.IntVar(&c.Service.MaxFailures, "lockout-failures", c.Service.MaxFailures, "wrong passwords in a row that lock an account")
	fs.DurationVar(&c.Service.LockFor, "lockout-duration", c.Service.LockFor, "how long a locked account stays locked")
	fs.IntVar(&c.Service.LoginAttempts, "login-attempts", c.Service.LoginAttempts, "login attempts allowed per address per --login-window (0: no limit)")
	fs.DurationVar(&c.Service.LoginWindow, "login-window", c.Service.LoginWindow, "window of --login-attempts")
	fs.DurationVar(&c.Service.GateOfflineAfter, "gate-offline-after", c.Service.GateOfflineAfter, "a gate without a heartbeat for this long is shown offline (3 heartbeat intervals)")
	fs.DurationVar(&c.Service.CommandTimeout, "command-timeout", c.Service.CommandTimeout, "how long to wait for a gate to answer a command")
	fs.DurationVar(&c.Service.AdmissionsRetention, "admissions-retention", c.Service.AdmissionsRetention, "how long admin keeps each gate decision (dashboard, ticket pages, exports) and resolved conflicts")
}

// Validate reports a configuration admin cannot run with.
func (c Config) Validate() error {
	if c.NATS.URL == "" {
		return errors.New("--nats is required: admin does not embed a NATS server")
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return errors.New("--tls-cert and --tls-key go together")
	}
	if c.Service.AdmissionsRetention < 48*time.Hour {
		return fmt.Errorf("--admissions-retention %v: at least 48h, so today's and yesterday's figures are whole", c.Service.AdmissionsRetention)
	}
	return nil
}

// https reports whether browsers reach admin over HTTPS: admin serves TLS
// itself, or a TLS proxy does for it.
func (c Config) https() bool { return c.TLSCert != "" || c.SecureCookies }

// App is a running admin.
type App struct {
	cfg    Config
	log    *slog.Logger
	store  *store.Store
	nc     *nats.Conn
	js     jetstream.JetStream
	signer *signed.Signer
	hub    *live.Hub
	ingest *ingest.Ingester
	svc    *service.Service
	web    *web.Server
	clock  atomic.Pointer[func() time.Time]

	cancel    context.CancelFunc
	wg        sync.WaitGroup
	closeOnce sync.Once
}

// New opens everything admin needs and starts its background work (the
// ingest loops and the session housekeeping). NATS being down at start is
// no error: admin serves what it has stored and catches up when NATS is
// back. Close stops it.
func New(ctx context.Context, cfg Config, log *slog.Logger) (a *App, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	a = &App{cfg: cfg, log: log, hub: live.New()}
	a.SetClock(time.Now)
	defer func() {
		if err != nil {
			a.Close()
		}
	}()
	if a.store, err = store.Open(ctx, cfg.Data); err != nil {
		return nil, err
	}
	if a.signer, err = signed.LoadOrCreateSigner(SigningKeyPath(cfg.Data)); err != nil {
		return nil, err
	}
	if a.nc, err = bus.Connect(cfg.NATS, bus.Admin(), log); err != nil {
		return nil, err
	}
	if a.js, err = jetstream.New(a.nc); err != nil {
		return nil, fmt.Errorf("jetstream: %w", err)
	}
	a.ingest = ingest.New(a.store, a.nc, a.js, a.hub, log, ingest.Options{Now: a.now, Signer: a.signer})
	enroll := enrollclient.New(cfg.EnrollURL, cfg.EnrollKey)
	if cfg.EnrollCA != "" {
		if enroll, err = enrollclient.NewWithCA(cfg.EnrollURL, cfg.EnrollKey, cfg.EnrollCA); err != nil {
			return nil, err
		}
	}
	if !enroll.Configured() {
		log.Warn("no --enroll-url or --enroll-key: ticket search, revoke and erase are unavailable")
	}
	if enroll.Plain() {
		log.Warn("--enroll-url is plain HTTP to another machine: the API key and visitors' data cross the network unencrypted; serve enroll with --tls-cert and use https",
			"enroll_url", cfg.EnrollURL)
	}
	a.svc = service.New(cfg.Service, a.store, enroll, a.nc, a.signer, a.ingest, log, a.now)
	a.web = web.New(a.svc, a.hub, log, web.Options{SecureCookies: cfg.https(), SessionCheck: cfg.SessionCheck})

	bg, cancel := context.WithCancel(context.Background())
	a.cancel = cancel
	a.wg.Add(2)
	go func() { defer a.wg.Done(); a.ingest.Run(bg) }()
	go func() { defer a.wg.Done(); a.svc.RunHousekeeping(bg, time.Hour) }()
	return a, nil
}

func (a *App) now() time.Time { return (*a.clock.Load())() }

// SetClock replaces the clock of every part, for tests of lockouts and day
// boundaries.
func (a *App) SetClock(now func() time.Time) { a.clock.Store(&now) }

// SigningKeyPath is where admin keeps the key it signs settings, the
// occupancy and gate commands with, in its data folder.
func SigningKeyPath(data string) string { return filepath.Join(data, "admin-signing.key") }

// PublicKey returns the public key gates check admin's messages against
// (gate --trust-admin).
func (a *App) PublicKey() ed25519.PublicKey { return a.signer.PublicKey() }

// Handler returns the web UI.
func (a *App) Handler() http.Handler { return a.web.Handler() }

// Service returns the operations, for the command line and tests.
func (a *App) Service() *service.Service { return a.svc }

// Store returns the database, for tests.
func (a *App) Store() *store.Store { return a.store }

// Ingester returns the materialising loops, for tests.
func (a *App) Ingester() *ingest.Ingester { return a.ingest }

// Serve answers HTTP (HTTPS with --tls-cert) on l until ctx ends, then shuts
// down gracefully, giving requests in flight up to 10 seconds; open event
// streams are ended first. It warns in the log when l takes plain HTTP from
// other machines.
func (a *App) Serve(ctx context.Context, l net.Listener) error {
	srv := &http.Server{Handler: a.Handler(), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	srv.RegisterOnShutdown(a.web.Shutdown)
	httpserve.WarnIfPlain(a.log, l, a.cfg.TLSCert != "")
	a.log.Info("admin UI listening", "addr", l.Addr().String(), "tls", a.cfg.TLSCert != "", "secure_cookies", a.cfg.https())
	return httpserve.Serve(ctx, srv, l, a.cfg.TLSCert, a.cfg.TLSKey, 10*time.Second)
}

// Close stops the background work and closes NATS and the database. Safe to
// call twice.
func (a *App) Close() error {
	var err error
	a.closeOnce.Do(func() {
		if a.cancel != nil {
			a.cancel()
		}
		a.wg.Wait()
		if a.web != nil {
			a.web.Shutdown()
		}
		a.hub.Close()
		if a.nc != nil {
			a.nc.Close()
		}
		if a.store != nil {
			err = a.store.Close()
		}
	})
	return err
}
