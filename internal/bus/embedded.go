package bus

import (
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// Embedded is a nats-server with JetStream running inside the program, the
// single-machine default. Its store survives restarts in its folder.
type Embedded struct {
	srv *server.Server
}

// StartEmbedded starts a nats-server with JetStream storing in dir, listening
// on addr ("127.0.0.1:4222"; port 0 or -1 picks a free port). It returns once
// the server accepts connections.
func StartEmbedded(dir, addr string, log *slog.Logger) (*Embedded, error) {
	host, portText, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("bus: embedded server address %q: %w", addr, err)
	}
	port, err := strconv.Atoi(portText)
	if err != nil {
		return nil, fmt.Errorf("bus: embedded server port %q: %w", portText, err)
	}
	if port == 0 {
		port = server.RANDOM_PORT
	}
	opts := &server.Options{
		ServerName: "scenicgate",
		Host:       host,
		Port:       port,
		JetStream:  true,
		StoreDir:   dir,
		NoSigs:     true,
		NoLog:      true,
	}
	srv, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("bus: embedded server: %w", err)
	}
	go srv.Start()
	if !srv.ReadyForConnections(30 * time.Second) {
		srv.Shutdown()
		return nil, fmt.Errorf("bus: embedded server on %s did not start", addr)
	}
	if log != nil {
		log.Info("embedded NATS server started", "url", srv.ClientURL(), "store", dir)
	}
	return &Embedded{srv: srv}, nil
}

// URL is the address other programs connect to.
func (e *Embedded) URL() string { return e.srv.ClientURL() }

// Shutdown stops the server and waits until it has stopped. It is safe to
// call more than once.
func (e *Embedded) Shutdown() {
	e.srv.Shutdown()
	e.srv.WaitForShutdown()
}
