package bus

import (
	"fmt"
	"net"
	"strings"
)

// Account is the NATS account every ScenicGate program logs in to. It has
// JetStream; no user outside it may log in at all.
const Account = "SCENICGATE"

// User is one login the server accepts: a public user nkey, and what the
// user may do.
type User struct {
	// Name says whose key it is, e.g. "gate north-1"; it is written as a
	// comment.
	Name        string
	Key         string // public user nkey, U…
	Permissions Permissions
}

// ServerConfig is a nats-server configuration for ScenicGate: one account
// with JetStream, in which each program's users may do only that program's
// work. The embedded server runs on it too, so a cluster and the
// single-machine default enforce exactly the same rules.
type ServerConfig struct {
	Users []User
	// ServerName names this node; it must differ between the nodes of a
	// cluster. Empty leaves it out.
	ServerName string
	// Listen is the client address, host:port. Empty leaves it out.
	Listen string
	// StoreDir is where JetStream keeps its data. Empty leaves it out.
	StoreDir string
	// TLSCert and TLSKey make the server speak only TLS to clients.
	TLSCert, TLSKey string
	// Cluster, when set, joins this server to a cluster.
	Cluster *ClusterConfig
}

// ClusterConfig joins a server to a NATS cluster. The routes between nodes
// log in with a shared password, so nobody can join the cluster as a node
// and read or write everything.
type ClusterConfig struct {
	Name     string   // the cluster's name, the same on every node
	Listen   string   // this node's route address, host:port
	Routes   []string // every node's route address, host:port (this node's may be among them)
	Password string   // the routes' shared password
}

// Text returns the configuration in nats-server's configuration language.
func (c ServerConfig) Text() string {
	var b strings.Builder
	w := func(indent int, format string, args ...any) {
		b.WriteString(strings.Repeat("  ", indent))
		fmt.Fprintf(&b, format, args...)
		b.WriteByte('\n')
	}
	w(0, "# nats-server configuration for ScenicGate (`enroll nats-config`).")
	w(0, "# Each program logs in with its own nkey and may do only its own work; anonymous")
	w(0, "# clients are refused. Print it again and reload the servers after every")
	w(0, "# `enroll credentials create` or `enroll credentials revoke`.")
	if c.ServerName != "" {
		w(0, "server_name: %s", quote(c.ServerName))
	}
	if c.Listen != "" {
		w(0, "listen: %s", quote(c.Listen))
	}
	w(0, "jetstream {")
	if c.StoreDir != "" {
		w(1, "store_dir: %s", quote(c.StoreDir))
	}
	w(0, "}")
	if c.TLSCert != "" {
		w(0, "tls {")
		w(1, "cert_file: %s", quote(c.TLSCert))
		w(1, "key_file: %s", quote(c.TLSKey))
		w(0, "}")
	}
	if cl := c.Cluster; cl != nil {
		w(0, "cluster {")
		w(1, "name: %s", quote(cl.Name))
		w(1, "listen: %s", quote(cl.Listen))
		w(1, "authorization {")
		w(2, "user: %s", quote(routeUser))
		w(2, "password: %s", quote(cl.Password))
		w(1, "}")
		w(1, "routes: [")
		for _, r := range cl.Routes {
			w(2, "%s", quote("nats-route://"+routeUser+":"+cl.Password+"@"+r))
		}
		w(1, "]")
		w(0, "}")
	}
	w(0, "accounts {")
	w(1, "%s {", Account)
	w(2, "jetstream: enabled")
	w(2, "users: [")
	for _, u := range c.Users {
		w(3, "# %s", strings.ReplaceAll(u.Name, "\n", " "))
		w(3, "{")
		w(4, "nkey: %s", quote(u.Key))
		w(4, "permissions: {")
		w(5, "publish: { allow: %s }", quoteList(u.Permissions.Publish))
		w(5, "subscribe: { allow: %s }", quoteList(u.Permissions.Subscribe))
		if u.Permissions.Responses {
			w(5, "allow_responses: true")
		}
		w(4, "}")
		w(3, "}")
	}
	w(2, "]")
	w(1, "}")
	w(0, "}")
	return b.String()
}

// routeUser is the user name cluster routes log in with.
const routeUser = "route"

// quote writes s as a double-quoted string of the configuration language, in
// which an unquoted $ would start a variable.
func quote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

func quoteList(list []string) string {
	if len(list) == 0 {
		return "[]"
	}
	q := make([]string, len(list))
	for i, s := range list {
		q[i] = quote(s)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// IsLoopback reports whether a listen address (host:port) accepts
// connections from this machine only.
func IsLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
