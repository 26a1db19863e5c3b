package bus

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"
)

// ErrOpenListener: an embedded server was asked to listen beyond this
// machine without any user, which would let anyone on the network open the
// gates.
var ErrOpenListener = errors.New("bus: refusing to serve NATS beyond loopback without authentication")

// EmbeddedConfig says how to run the embedded server.
type EmbeddedConfig struct {
	// Dir is where JetStream stores its data; it survives restarts.
	Dir string
	// Listen is the client address ("127.0.0.1:4222"); port 0 or -1 picks
	// a free port.
	Listen string
	// Users may log in (see Registry). With none, the server takes
	// anonymous clients, which it allows on loopback only.
	Users []User
	// Self, when set, is the identity of the program running the server:
	// it logs in (Connect) with a key made for this run alone, which no
	// file holds.
	Self Identity
	// TLSCert and TLSKey make the server speak only TLS to clients.
	TLSCert, TLSKey string
}

// Embedded is a nats-server with JetStream running inside the program, the
// single-machine default. Its store survives restarts in its folder.
type Embedded struct {
	srv  *server.Server
	cfg  EmbeddedConfig
	port int
	self nkeys.KeyPair // nil without cfg.Self
	log  *slog.Logger

	mu sync.Mutex // serialises SetUsers
}

// StartEmbedded starts the server and returns once it accepts connections.
// It fails with ErrOpenListener when cfg.Listen is not a loopback address
// and there are no users.
func StartEmbedded(cfg EmbeddedConfig, log *slog.Logger) (*Embedded, error) {
	host, portText, err := net.SplitHostPort(cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("bus: embedded server address %q: %w", cfg.Listen, err)
	}
	port, err := strconv.Atoi(portText)
	if err != nil {
		return nil, fmt.Errorf("bus: embedded server port %q: %w", portText, err)
	}
	if port == 0 {
		port = server.RANDOM_PORT
	}
	if (cfg.TLSCert == "") != (cfg.TLSKey == "") {
		return nil, errors.New("bus: the embedded server needs both a TLS certificate and its key")
	}
	e := &Embedded{cfg: cfg, port: port, log: log}
	if cfg.Self.Role != "" {
		if e.self, err = nkeys.CreateUser(); err != nil {
			return nil, err
		}
	}
	if len(e.users(cfg.Users)) == 0 && !IsLoopback(cfg.Listen) {
		return nil, fmt.Errorf("%w (%s): issue credentials with `enroll credentials create`", ErrOpenListener, cfg.Listen)
	}
	opts, err := e.options(cfg.Users)
	if err != nil {
		return nil, err
	}
	opts.Host = host
	srv, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("bus: embedded server: %w", err)
	}
	go srv.Start()
	if !srv.ReadyForConnections(30 * time.Second) {
		srv.Shutdown()
		return nil, fmt.Errorf("bus: embedded server on %s did not start", cfg.Listen)
	}
	e.srv = srv
	// A reload must keep the port a random one was resolved to.
	if a, ok := srv.Addr().(*net.TCPAddr); ok {
		e.port = a.Port
	}
	if log != nil {
		log.Info("embedded NATS server started", "url", srv.ClientURL(), "store", cfg.Dir,
			"users", len(cfg.Users), "tls", cfg.TLSCert != "")
		if !IsLoopback(cfg.Listen) && cfg.TLSCert == "" {
			log.Warn("NATS is served beyond loopback without TLS: entitlements, faces included, cross the network in clear; set --nats-tls-cert and --nats-tls-key",
				"listen", cfg.Listen)
		}
	}
	return e, nil
}

// users returns the configured users and, with a Self identity, this run's
// own user.
func (e *Embedded) users(users []User) []User {
	if e.self == nil {
		return users
	}
	pub, _ := e.self.PublicKey()
	return append(append([]User{}, users...), User{Name: e.cfg.Self.String() + " (this process)", Key: pub,
		Permissions: e.cfg.Self.Permissions()})
}

// options turns the configuration into server options through the same
// configuration text a standalone nats-server is given.
func (e *Embedded) options(users []User) (*server.Options, error) {
	opts := &server.Options{}
	var text string
	if all := e.users(users); len(all) > 0 {
		text = ServerConfig{Users: all, TLSCert: e.cfg.TLSCert, TLSKey: e.cfg.TLSKey}.Text()
	} else if e.cfg.TLSCert != "" {
		text = "tls {\n  cert_file: " + quote(e.cfg.TLSCert) + "\n  key_file: " + quote(e.cfg.TLSKey) + "\n}\n"
	}
	if text != "" {
		if err := opts.ProcessConfigString(text); err != nil {
			return nil, fmt.Errorf("bus: embedded server configuration: %w", err)
		}
	}
	host, _, _ := net.SplitHostPort(e.cfg.Listen)
	opts.ServerName = "scenicgate"
	opts.Host = host
	opts.Port = e.port
	opts.JetStream = true
	opts.StoreDir = e.cfg.Dir
	opts.NoSigs = true
	opts.NoLog = true
	return opts, nil
}

// SetUsers replaces the users the server accepts, at once and without a
// restart. Connections whose key is no longer among them are closed.
func (e *Embedded) SetUsers(users []User) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.users(users)) == 0 && !IsLoopback(e.cfg.Listen) {
		return ErrOpenListener
	}
	opts, err := e.options(users)
	if err != nil {
		return err
	}
	if err := e.srv.ReloadOptions(opts); err != nil {
		return fmt.Errorf("bus: reload embedded server users: %w", err)
	}
	e.cfg.Users = users
	return nil
}

// URL is the address other programs connect to.
func (e *Embedded) URL() string { return e.srv.ClientURL() }

// Connect connects the program running the server, in process, as
// cfg.Self. The connection needs no network and no TLS, and reconnects
// until Shutdown.
func (e *Embedded) Connect(log *slog.Logger) (*nats.Conn, error) {
	if e.self == nil {
		return nil, errors.New("bus: the embedded server has no Self identity")
	}
	pub, _ := e.self.PublicKey()
	// nats://, not the tls:// a server with a certificate advertises: the
	// in-process connection never leaves the program.
	url := "nats://" + e.srv.Addr().String()
	return connect(Options{URL: url}, e.cfg.Self, log,
		nats.InProcessServer(e.srv),
		nats.Nkey(pub, e.self.Sign))
}

// Shutdown stops the server and waits until it has stopped. It is safe to
// call more than once.
func (e *Embedded) Shutdown() {
	e.srv.Shutdown()
	e.srv.WaitForShutdown()
}
