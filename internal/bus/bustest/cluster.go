package bustest

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/scenicgate/scenicgate/internal/bus"
)

// Bus is what the tests of a program need from NATS, whether one server or
// a cluster: a program's connection options and the test's observer.
type Bus interface {
	// Options returns the connection options of the program id.
	Options(t testing.TB, id bus.Identity) bus.Options
	// Creds returns the credentials file of id, issuing it on first use.
	Creds(t testing.TB, id bus.Identity) string
	// Connect returns a connection of the test's observer, which may do
	// everything, with ScenicGate's assets provisioned.
	Connect(t testing.TB) (*nats.Conn, jetstream.JetStream)
}

// Cluster is a NATS cluster of standalone nodes (nats-server of the version
// go.mod pins), each run on the configuration `enroll nats-config --routes`
// prints, sharing one set of credentials. Nodes can be killed, frozen and
// started again one by one.
type Cluster struct {
	Nodes []*Server

	t     testing.TB
	users *users
}

// StartCluster starts a cluster of n nodes, named n1, n2, …, on free
// loopback ports; they are stopped when the test ends. It returns once every
// node accepts connections; JetStream may still be electing its leaders
// (Connect waits for them).
func StartCluster(t testing.TB, n int) *Cluster {
	t.Helper()
	NATSServer(t)
	c := &Cluster{t: t, users: newUsers(t)}
	c.users.reload = c.reload
	var routes []string
	for range n {
		routes = append(routes, freeAddr(t))
	}
	for i := range n {
		s := &Server{Kind: "standalone", Name: fmt.Sprintf("n%d", i+1), t: t, addr: freeAddr(t), store: t.TempDir(), users: c.users,
			cluster: &bus.ClusterConfig{Name: "scenicgate", Listen: routes[i], Routes: routes, Password: "route-secret"}}
		c.Nodes = append(c.Nodes, s)
	}
	for _, s := range c.Nodes {
		s.Start()
		t.Cleanup(s.Stop)
	}
	return c
}

// reload makes every running node take the registry's users.
func (c *Cluster) reload() {
	for _, s := range c.Nodes {
		if s.cmd != nil {
			s.Reload()
		}
	}
}

// URL lists every node's client URL, comma-separated, as programs are given
// them.
func (c *Cluster) URL() string {
	urls := make([]string, len(c.Nodes))
	for i, s := range c.Nodes {
		urls[i] = "nats://" + s.addr
	}
	return strings.Join(urls, ",")
}

// Options returns the connection options of the program id: every node's
// URL, id's credentials, and a replica on every node.
func (c *Cluster) Options(t testing.TB, id bus.Identity) bus.Options {
	t.Helper()
	return bus.Options{URL: c.URL(), CredsFile: c.Creds(t, id), Replicas: len(c.Nodes)}
}

// Creds returns the credentials file of id, issuing it (and reloading every
// running node) on first use.
func (c *Cluster) Creds(t testing.TB, id bus.Identity) string {
	t.Helper()
	return c.users.creds(t, id)
}

// Connect returns a connection of the test's observer to the cluster,
// closed when the test ends, once ScenicGate's assets are provisioned with a
// replica on every node; it waits up to a minute for the cluster to form.
func (c *Cluster) Connect(t testing.TB) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	nc, err := bus.Connect(bus.Options{URL: c.URL(), CredsFile: c.users.observerCreds()}, bus.Identity{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	provision(t, js, len(c.Nodes))
	return nc, js
}

// Node returns the node named name (n1, n2, …), or nil.
func (c *Cluster) Node(name string) *Server {
	for _, s := range c.Nodes {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// Leader returns the node that leads stream now, as js sees it, waiting up
// to a minute for one to be elected.
func (c *Cluster) Leader(t testing.TB, js jetstream.JetStream, stream string) *Server {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		st, err := js.Stream(ctx, stream)
		var info *jetstream.StreamInfo
		if err == nil {
			info, err = st.Info(ctx)
		}
		cancel()
		if err == nil && info.Cluster != nil {
			if s := c.Node(info.Cluster.Leader); s != nil {
				return s
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("stream %s has no leader after a minute: %v", stream, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
