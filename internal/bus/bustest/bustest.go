// Package bustest starts real NATS servers with JetStream for tests, each
// enforcing ScenicGate's identities and permissions exactly as a site does:
// the embedded server ScenicGate ships with, and a standalone nats-server
// built from the module version go.mod pins, run with the configuration
// `enroll nats-config` prints — so the same suite can run against both.
//
// Tests log in as the programs do, with credentials issued per identity
// (Server.Creds), and inspect the bus through an observer that may do
// everything (Server.Connect), which no program ever gets.
package bustest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/scenicgate/scenicgate/internal/bus"
)

// Server is a NATS server that a test can stop and start again on the same
// port and store, to play an outage.
type Server struct {
	URL  string
	Kind string // "embedded" or "standalone"
	// Name is the node's server name: "scenicgate-test" alone, n1, n2, …
	// in a Cluster.
	Name string

	t       testing.TB
	addr    string
	store   string
	cluster *bus.ClusterConfig // nil for a server alone
	users   *users             // shared by the nodes of a cluster
	emb     *bus.Embedded
	cmd     *exec.Cmd
	logs    logBuffer
}

// users are the credentials the servers of a test accept: the registry of
// issued users and the test's observer. The nodes of a cluster share them.
type users struct {
	dir      string // configuration and credentials files
	registry *bus.Registry
	observer bus.User
	// reload makes every server that shares them take the registry's users.
	reload func()

	mu     sync.Mutex
	issued map[bus.Identity]string
}

// Embedded starts an embedded server on a free loopback port with its store
// in a temporary folder; it is stopped when the test ends.
func Embedded(t testing.TB) *Server {
	t.Helper()
	s := newServer(t, "embedded")
	s.Start()
	t.Cleanup(s.Stop)
	return s
}

// Standalone starts nats-server (NATSServer) as its own process with the
// configuration ScenicGate prints for a cluster, likewise.
func Standalone(t testing.TB) *Server {
	t.Helper()
	NATSServer(t)
	s := newServer(t, "standalone")
	s.Start()
	t.Cleanup(s.Stop)
	return s
}

func newServer(t testing.TB, kind string) *Server {
	s := &Server{Kind: kind, Name: "scenicgate-test", t: t, addr: freeAddr(t), store: t.TempDir(), users: newUsers(t)}
	s.users.reload = s.Reload
	return s
}

func newUsers(t testing.TB) *users {
	u := &users{dir: t.TempDir(), issued: map[bus.Identity]string{}}
	u.registry = bus.OpenRegistry(filepath.Join(u.dir, "nats-users.json"))
	pub, seed, err := bus.NewUserKey()
	if err != nil {
		t.Fatal(err)
	}
	u.observer = bus.User{Name: "test observer", Key: pub, Permissions: bus.AllowAll}
	f, err := os.OpenFile(u.observerCreds(), os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := bus.WriteCredentials(f, bus.Identity{}, pub, seed, time.Now()); err != nil {
		t.Fatal(err)
	}
	return u
}

func (u *users) observerCreds() string { return filepath.Join(u.dir, "observer.creds") }

func (u *users) list(t testing.TB) []bus.User {
	list, err := u.registry.Users()
	if err != nil {
		t.Fatal(err)
	}
	return append(list, u.observer)
}

// creds returns the credentials file of id, issuing it and reloading the
// servers on first use.
func (u *users) creds(t testing.TB, id bus.Identity) string {
	t.Helper()
	u.mu.Lock()
	path, ok := u.issued[id]
	u.mu.Unlock()
	if ok {
		return path
	}
	_, creds, err := u.registry.Issue(id, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.CreateTemp(u.dir, "*.creds")
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.Write(creds)
	if err = errors.Join(err, f.Close()); err != nil {
		t.Fatal(err)
	}
	u.mu.Lock()
	u.issued[id] = f.Name()
	u.mu.Unlock()
	u.reload()
	return f.Name()
}

// Each runs fn as a subtest against an embedded and a standalone server.
func Each(t *testing.T, fn func(t *testing.T, s *Server)) {
	servers := []struct {
		kind  string
		start func(testing.TB) *Server
	}{{"embedded", Embedded}, {"standalone", Standalone}}
	for _, srv := range servers {
		t.Run(srv.kind, func(t *testing.T) {
			s := srv.start(t)
			t.Logf("NATS %s at %s", s.Kind, s.URL)
			fn(t, s)
		})
	}
}

// Registry is the list of issued credentials the server accepts. After
// changing it directly, call Reload.
func (s *Server) Registry() *bus.Registry { return s.users.registry }

// Config returns the configuration a standalone server runs with.
func (s *Server) Config() bus.ServerConfig {
	return bus.ServerConfig{Users: s.users.list(s.t), ServerName: s.Name, Listen: s.addr, StoreDir: s.store, Cluster: s.cluster}
}

// Start starts the server (again). It returns once it accepts connections.
func (s *Server) Start() {
	s.t.Helper()
	s.URL = "nats://" + s.addr
	if s.Kind == "embedded" {
		e, err := bus.StartEmbedded(bus.EmbeddedConfig{Dir: s.store, Listen: s.addr, Users: s.users.list(s.t)}, nil)
		if err != nil {
			s.t.Fatal(err)
		}
		s.emb = e
		return
	}
	conf := s.writeConfig()
	s.cmd = exec.Command(NATSServer(s.t), "-c", conf)
	s.cmd.Stdout, s.cmd.Stderr = &s.logs, &s.logs
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

func (s *Server) writeConfig() string {
	conf := filepath.Join(s.users.dir, s.Name+".conf")
	if err := os.WriteFile(conf, []byte(s.Config().Text()), 0o600); err != nil {
		s.t.Fatal(err)
	}
	return conf
}

// Reload makes the running server accept exactly the registry's users (and
// the observer), as enroll does for its embedded server and as an operator
// does for a cluster with `nats-server --signal reload`.
func (s *Server) Reload() {
	s.t.Helper()
	switch {
	case s.emb != nil:
		if err := s.emb.SetUsers(s.users.list(s.t)); err != nil {
			s.t.Fatal(err)
		}
	case s.cmd != nil:
		s.writeConfig()
		before := s.logs.count(reloaded)
		if err := s.cmd.Process.Signal(syscall.SIGHUP); err != nil {
			s.t.Fatal(err)
		}
		deadline := time.Now().Add(20 * time.Second)
		for s.logs.count(reloaded) == before {
			if time.Now().After(deadline) {
				s.t.Fatalf("nats-server did not reload its configuration:\n%s", s.logs.String())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// reloaded is what nats-server logs once a reload has taken effect.
const reloaded = "Reloaded server configuration"

// logBuffer keeps what a standalone server logs.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) count(s string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return bytes.Count(l.buf.Bytes(), []byte(s))
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// Creds returns the path of a credentials file for id, issuing it (and
// reloading the server) on first use. Later calls for id return the same
// file.
func (s *Server) Creds(t testing.TB, id bus.Identity) string {
	t.Helper()
	return s.users.creds(t, id)
}

// Options returns the connection options of the program id: the server's
// URL and id's credentials.
func (s *Server) Options(t testing.TB, id bus.Identity) bus.Options {
	t.Helper()
	return bus.Options{URL: s.URL, CredsFile: s.Creds(t, id), Replicas: 1}
}

// Stop stops the server; the store stays for a later Start. Safe to call
// on a stopped server.
func (s *Server) Stop() {
	if s.emb != nil {
		s.emb.Shutdown()
		s.emb = nil
	}
	if s.cmd != nil {
		s.cmd.Process.Signal(syscall.SIGCONT) // a frozen server must run to stop
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

// Kill ends a standalone server at once, as a crash or a power cut does;
// its store stays for a later Start.
func (s *Server) Kill() {
	if s.cmd == nil {
		return
	}
	s.cmd.Process.Kill()
	s.cmd.Wait()
	s.cmd = nil
}

// Freeze stops a standalone server's process without ending it (SIGSTOP):
// its connections stay open but nothing answers, as with a hung machine.
// Thaw lets it go on.
func (s *Server) Freeze() {
	s.t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		s.t.Fatal(err)
	}
}

// Thaw lets a frozen server go on (SIGCONT).
func (s *Server) Thaw() {
	s.t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		s.t.Fatal(err)
	}
}

// StoreDir is where the server keeps JetStream data.
func (s *Server) StoreDir() string { return filepath.Clean(s.store) }

// Connect returns a connection of the test's observer, which may do
// everything, closed when the test ends, and a JetStream context on it with
// ScenicGate's assets provisioned. The connection is to this server alone,
// even when it is a node of a cluster.
func (s *Server) Connect(t testing.TB) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	nc, err := bus.Connect(bus.Options{URL: s.URL, CredsFile: s.users.observerCreds()}, bus.Identity{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	replicas := 1
	if s.cluster != nil {
		replicas = len(s.cluster.Routes)
	}
	provision(t, js, replicas)
	return nc, js
}

// provision provisions ScenicGate's assets, trying again for up to a minute
// while a cluster forms or elects its leaders.
func provision(t testing.TB, js jetstream.JetStream, replicas int) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err := bus.Provision(ctx, js, replicas)
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("provisioning with %d replicas: %v", replicas, err)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// ConnectAs returns a connection logged in as id, closed when the test
// ends, and a JetStream context on it. It waits until the connection is
// up, so a refusal shows as the server's answer to what the test does next.
func (s *Server) ConnectAs(t testing.TB, id bus.Identity) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	nc, err := bus.Connect(s.Options(t, id), id, Log(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	deadline := time.Now().Add(10 * time.Second)
	for nc.Status() != nats.CONNECTED {
		if time.Now().After(deadline) {
			t.Fatalf("%s did not connect: %v", id, nc.LastError())
		}
		time.Sleep(20 * time.Millisecond)
	}
	js, err := jetstream.New(nc)
	if err != nil {
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

// Log returns a logger that writes to the test's log, so what a program
// logs (a permissions violation, say) shows with the test's failure.
func Log(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
