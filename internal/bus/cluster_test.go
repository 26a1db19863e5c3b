package bus_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/scenicgate/scenicgate/internal/bus"
	"github.com/scenicgate/scenicgate/internal/bus/bustest"
)

// TestClusterRunsOnThePrintedConfiguration starts three nodes of the
// nats-server go.mod pins, each on the configuration `enroll nats-config
// --routes` prints, and provisions ScenicGate's assets with three replicas
// as enroll, with enroll's credentials. A node without the routes' password
// cannot join.
func TestClusterRunsOnThePrintedConfiguration(t *testing.T) {
	bin := bustest.NATSServer(t)
	reg := bus.OpenRegistry(filepath.Join(t.TempDir(), "users.json"))
	_, creds, err := reg.Issue(bus.Enroll(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	users, _ := reg.Users()
	var clients, routes []string
	for i := 0; i < 3; i++ {
		clients = append(clients, freeAddr(t))
		routes = append(routes, freeAddr(t))
	}
	for i := range 3 {
		cfg := bus.ServerConfig{Users: users, ServerName: fmt.Sprintf("n%d", i+1), Listen: clients[i], StoreDir: t.TempDir(),
			Cluster: &bus.ClusterConfig{Name: "scenicgate", Listen: routes[i], Routes: routes, Password: "route-secret"}}
		startNode(t, bin, cfg.Text())
	}
	// An intruder node with the wrong password.
	bad := bus.ServerConfig{Users: users, ServerName: "intruder", Listen: freeAddr(t), StoreDir: t.TempDir(),
		Cluster: &bus.ClusterConfig{Name: "scenicgate", Listen: freeAddr(t), Routes: routes, Password: "guess"}}
	intruder := startNode(t, bin, bad.Text())

	urls := make([]string, len(clients))
	for i, c := range clients {
		urls[i] = "nats://" + c
	}
	nc, err := bus.Connect(bus.Options{URL: strings.Join(urls, ","), CredsFile: writeTemp(t, creds)}, bus.Enroll(), bustest.Log(t))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	deadline := time.Now().Add(60 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err = bus.Provision(ctx, js, 3)
		cancel()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("provisioning with 3 replicas on the cluster: %v", err)
		}
		time.Sleep(500 * time.Millisecond)
	}
	st, err := js.Stream(context.Background(), bus.StreamAdmissions)
	if err != nil {
		t.Fatal(err)
	}
	info, _ := st.Info(context.Background())
	if got := len(info.Cluster.Replicas) + 1; got != 3 {
		t.Errorf("ADMISSIONS has %d replicas; want 3", got)
	}
	for _, r := range info.Cluster.Replicas {
		if r.Name == "intruder" {
			t.Error("the intruder node holds a replica")
		}
	}
	for wait := time.Now().Add(20 * time.Second); !strings.Contains(intruder.String(), "Authorization Violation"); {
		if time.Now().After(wait) {
			t.Fatalf("the node with the wrong password was not refused:\n%s", intruder.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if nc, err := nats.Connect(urls[0], nats.Timeout(2*time.Second)); err == nil {
		nc.Close()
		t.Error("an anonymous client connected to the cluster")
	}
}

// startNode runs nats-server on conf until the test ends and returns its log.
func startNode(t *testing.T, bin, conf string) *syncBuilder {
	t.Helper()
	file := filepath.Join(t.TempDir(), "node.conf")
	if err := os.WriteFile(file, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-c", file)
	logs := &syncBuilder{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return logs
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// syncBuilder is a strings.Builder a process may write to while the test
// reads it.
type syncBuilder struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuilder) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuilder) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
