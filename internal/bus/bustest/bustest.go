// Package bustest starts real NATS servers with JetStream for tests: the
// embedded server ScenicGate ships with, and Debian's nats-server binary, so
// the same suite can run against both.
package bustest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/scenicgate/scenicgate/internal/bus"
)

// ExternalBinary is the nats-server that Debian's package installs.
const ExternalBinary = "/usr/sbin/nats-server"

// Server is a NATS server that a test can stop and start again on the same
// port and store, to play an outage.
type Server struct {
	URL   string
	Kind  string // "embedded" or "external"
	t     testing.TB
	addr  string
	store string
	emb   *bus.Embedded
	cmd   *exec.Cmd
}

// Embedded starts an embedded server on a free loopback port with its store
// in a temporary folder; it is stopped when the test ends.
func Embedded(t testing.TB) *Server {
	t.Helper()
	s := &Server{Kind: "embedded", t: t, addr: freeAddr(t), store: t.TempDir()}
	s.Start()
	t.Cleanup(s.Stop)
	return s
}

// External starts Debian's nats-server binary likewise. The test fails when
// the binary is missing (`make deps` installs it).
func External(t testing.TB) *Server {
	t.Helper()
	if _, err := os.Stat(ExternalBinary); err != nil {
		t.Fatalf("nats-server missing (run `make deps`): %v", err)
	}
	s := &Server{Kind: "external", t: t, addr: freeAddr(t), store: t.TempDir()}
	s.Start()
	t.Cleanup(s.Stop)
	return s
}

// Each runs fn as a subtest against an embedded and an external server.
func Each(t *testing.T, fn func(t *testing.T, s *Server)) {
	servers := []struct {
		kind  string
		start func(testing.TB) *Server
	}{{"embedded", Embedded}, {"external", External}}
	for _, srv := range servers {
		t.Run(srv.kind, func(t *testing.T) {
			s := srv.start(t)
			t.Logf("NATS %s at %s", s.Kind, s.URL)
			fn(t, s)
		})
	}
}

// Start starts the server (again). It returns once it accepts connections.
func (s *Server) Start() {
	s.t.Helper()
	s.URL = "nats://" + s.addr
	if s.Kind == "embedded" {
		e, err := bus.StartEmbedded(s.store, s.addr, nil)
		if err != nil {
			s.t.Fatal(err)
		}
		s.emb = e
		return
	}
	host, port, _ := net.SplitHostPort(s.addr)
	s.cmd = exec.Command(ExternalBinary, "-js", "-a", host, "-p", port, "-sd", s.store)
	s.cmd.Stdout, s.cmd.Stderr = nil, nil
	if err := s.cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", s.addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("nats-server on %s did not start: %v", s.addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Stop stops the server; the store stays for a later Start. Safe to call
// on a stopped server.
func (s *Server) Stop() {
	if s.emb != nil {
		s.emb.Shutdown()
		s.emb = nil
	}
	if s.cmd != nil {
		s.cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { s.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			s.cmd.Process.Kill()
			<-done
		}
		s.cmd = nil
	}
}

// StoreDir is where the server keeps JetStream data.
func (s *Server) StoreDir() string { return filepath.Clean(s.store) }

// Connect returns a connection closed when the test ends, and a JetStream
// context on it with ScenicGate's assets provisioned.
func (s *Server) Connect(t testing.TB) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	nc, err := bus.Connect(bus.Options{URL: s.URL}, t.Name(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := bus.Provision(ctx, js, 1); err != nil {
		t.Fatal(err)
	}
	return nc, js
}

func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(fmt.Errorf("no free port: %w", err))
	}
	defer l.Close()
	return l.Addr().String()
}
