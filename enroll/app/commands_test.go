package app

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	enrollstore "github.com/scenicgate/scenicgate/enroll/store"
	"github.com/scenicgate/scenicgate/gate/matcher"
	"github.com/scenicgate/scenicgate/gate/mirror"
	"github.com/scenicgate/scenicgate/gate/store"
	"github.com/scenicgate/scenicgate/internal/bus"
	"github.com/scenicgate/scenicgate/internal/bus/bustest"
	"github.com/scenicgate/scenicgate/internal/signed"
	"github.com/scenicgate/scenicgate/internal/testenv"
	"github.com/scenicgate/scenicgate/proto/sgpb"
)

// issue runs `enroll credentials create` on data and returns the file it
// printed, stored with mode 0600.
func issue(t *testing.T, data string, args ...string) string {
	t.Helper()
	var out, errOut bytes.Buffer
	if err := CredentialsCommand(append([]string{"create", "--data", data}, args...), &out, &errOut); err != nil {
		t.Fatalf("credentials create %v: %v\n%s", args, err, errOut.String())
	}
	path := filepath.Join(t.TempDir(), "x.creds")
	if err := os.WriteFile(path, out.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func login(url, creds string) (*nats.Conn, error) {
	opts := []nats.Option{nats.Timeout(2 * time.Second), nats.MaxReconnects(0)}
	if creds != "" {
		opt, err := nats.NkeyOptionFromSeed(creds)
		if err != nil {
			return nil, err
		}
		opts = append(opts, opt)
	}
	return nats.Connect(url, opts...)
}

func TestCredentialsTakeEffectOnTheEmbeddedServer(t *testing.T) {
	dir := t.TempDir()
	a, _ := startApp(t, dir, nil)
	url := a.NATSURL()
	if nc, err := login(url, ""); err == nil {
		nc.Close()
		t.Fatal("a client without credentials connected to the embedded server")
	}
	creds := issue(t, dir, "--role", "gate", "--id", "north-1")
	var nc *nats.Conn
	deadline := time.Now().Add(10 * time.Second)
	for {
		var err error
		if nc, err = login(url, creds); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("new gate credentials refused 10 s after they were issued: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	defer nc.Close()
	closed := make(chan struct{})
	nc.SetClosedHandler(func(*nats.Conn) { close(closed) })

	_, key, err := bus.ReadCredentials(creds)
	if err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	if err := CredentialsCommand([]string{"revoke", "--data", dir, "--key", key}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("the revoked gate's connection is still open 10 s after the revoke")
	}
	if nc, err := login(url, creds); err == nil {
		nc.Close()
		t.Error("revoked credentials still log in")
	}
	if err := CredentialsCommand([]string{"revoke", "--data", dir, "--key", key}, &out, &errOut); err == nil {
		t.Error("revoking the same key twice succeeded; want no such credentials")
	}
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

// TestNATSConfigRunsAStandaloneServer prints the configuration with `enroll
// nats-config`, runs nats-server of the version go.mod pins with it, and
// runs enroll and a gate's mirror on it with credentials from `enroll
// credentials create`.
func TestNATSConfigRunsAStandaloneServer(t *testing.T) {
	data := t.TempDir()
	enrollCreds := issue(t, data, "--role", "enroll")
	gateCreds := issue(t, data, "--role", "gate", "--id", "north-1")
	addr := freeAddr(t)
	var conf, errOut bytes.Buffer
	err := NATSConfigCommand([]string{"--data", data, "--listen", addr, "--store-dir", t.TempDir(), "--server-name", "n1"}, &conf, &errOut)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"accounts {", "SCENICGATE {", "jetstream: enabled", "# enroll", "# gate north-1",
		`"admissions.north-1"`, "allow_responses: true"} {
		if !strings.Contains(conf.String(), want) {
			t.Errorf("nats-config lacks %q:\n%s", want, conf.String())
		}
	}
	file := filepath.Join(t.TempDir(), "n1.conf")
	os.WriteFile(file, conf.Bytes(), 0o600)
	server := exec.Command(bustest.NATSServer(t), "-c", file)
	var logs bytes.Buffer
	server.Stdout, server.Stderr = &logs, &logs
	if err := server.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { server.Process.Kill(); server.Wait() })
	url := "nats://" + addr
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("nats-server did not start:\n%s", logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if nc, err := login(url, ""); err == nil {
		nc.Close()
		t.Fatal("a client without credentials connected")
	}

	// enroll provisions and publishes a signed entitlement.
	cfg := DefaultConfig()
	cfg.Data, cfg.Engine = t.TempDir(), engine
	cfg.NATS = bus.Options{URL: url, CredsFile: enrollCreds, Replicas: 1}
	a, err := New(context.Background(), cfg, quietLog())
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	key, err := a.Store().CreateAPIKey(context.Background(), "shop", enrollstore.ScopeShop)
	if err != nil {
		t.Fatal(err)
	}
	c := newClient(t, a, key)
	_, body := c.postJSON("/api/v1/tickets", orderJSON("cluster-1", testenv.Photo(t, "obama.jpg")))
	id := tickets(body)[0]["ticket_id"].(string)

	// A gate's mirror with the gate's credentials takes it in, verified.
	gate, err := bus.Connect(bus.Options{URL: url, CredsFile: gateCreds}, bus.Gate("north-1"), bustest.Log(t))
	if err != nil {
		t.Fatal(err)
	}
	defer gate.Close()
	js, _ := jetstream.New(gate)
	st, err := store.Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	trusted, _ := signed.NewKeys(a.Keys().Signer().PublicKey())
	m := mirror.New(st, matcher.NewGallery(192, matcher.Cosine), func(string) bool { return false }, "",
		func(mirror.Summary, time.Time) bool { return true }, trusted, mirror.NewRefusals(time.Now), quietLog())
	if err := m.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); m.Run(ctx, js) }()
	defer func() { cancel(); <-done }()
	deadline = time.Now().Add(15 * time.Second)
	for func() bool { _, ok := m.Summary(id); return !ok }() {
		if time.Now().After(deadline) {
			t.Fatalf("the gate's mirror never took in %s", id)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// The gate may not write it.
	kv, err := js.KeyValue(context.Background(), bus.BucketEntitlements)
	if err != nil {
		t.Fatal(err)
	}
	pctx, pcancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer pcancel()
	if _, err := kv.Put(pctx, id, []byte("forged")); err == nil {
		t.Error("the gate's credentials wrote ENTITLEMENTS")
	}
	if !errors.Is(gate.LastError(), nats.ErrPermissionViolation) {
		t.Errorf("last error of the gate's connection %v; want a permissions violation", gate.LastError())
	}
}

// TestUpgradeRepublishesEveryTicketSigned plays the first start of a version
// that signs, on a bucket of unsigned values: every ticket is published
// again, signed, so gates do not lose it.
func TestUpgradeRepublishesEveryTicketSigned(t *testing.T) {
	s := bustest.Embedded(t)
	dir := t.TempDir()
	a, key := startApp(t, dir, s)
	c := newClient(t, a, key)
	_, body := c.postJSON("/api/v1/tickets", orderJSON("upgrade-1", testenv.Photo(t, "obama.jpg")))
	id := tickets(body)[0]["ticket_id"].(string)
	a.Close()

	// The bucket as an older enroll left it.
	_, js := s.Connect(t)
	kv, err := js.KeyValue(context.Background(), bus.BucketEntitlements)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := proto.Marshal(&sgpb.Entitlement{TicketId: id, Version: 1})
	if _, err := kv.Put(context.Background(), id, raw); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(dir, signedByFile))

	a2, _ := startApp(t, dir, s)
	trusted, _ := signed.NewKeys(a2.Keys().Signer().PublicKey())
	deadline := time.Now().Add(15 * time.Second)
	for {
		e, err := kv.Get(context.Background(), id)
		if err == nil {
			var ent sgpb.Entitlement
			if _, err := trusted.OpenMessage(signed.Entitlement, e.Value(), &ent); err == nil && ent.TicketId == id {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s is not signed in the bucket 15 s after the upgrade", id)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// With the same key, nothing is published again.
	if n, err := a2.republishIfSignerChanged(context.Background()); err != nil || n != 0 {
		t.Errorf("republishIfSignerChanged with the same key = %d, %v; want 0", n, err)
	}
}
