package bus_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/scenicgate/scenicgate/internal/bus"
)

func TestEmbeddedRefusesAnOpenListenerBeyondLoopback(t *testing.T) {
	_, err := bus.StartEmbedded(bus.EmbeddedConfig{Dir: t.TempDir(), Listen: "0.0.0.0:0"}, nil)
	if !errors.Is(err, bus.ErrOpenListener) {
		t.Fatalf("StartEmbedded on 0.0.0.0 without users = %v; want ErrOpenListener", err)
	}
	// With users, it serves the network, and only them.
	reg := bus.OpenRegistry(filepath.Join(t.TempDir(), "users.json"))
	_, creds, err := reg.Issue(bus.Gate("north-1"), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	users, _ := reg.Users()
	e, err := bus.StartEmbedded(bus.EmbeddedConfig{Dir: t.TempDir(), Listen: "0.0.0.0:0", Users: users}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Shutdown()
	if nc, err := nats.Connect(e.URL(), nats.Timeout(2*time.Second)); err == nil {
		nc.Close()
		t.Fatal("an anonymous client connected")
	}
	nc, err := nats.Connect(e.URL(), mustNkey(t, writeTemp(t, creds)), nats.Timeout(2*time.Second))
	if err != nil {
		t.Fatalf("gate credentials: %v", err)
	}
	nc.Close()
	// Loopback without users stays possible, for trying things out.
	local, err := bus.StartEmbedded(bus.EmbeddedConfig{Dir: t.TempDir(), Listen: "127.0.0.1:0"}, nil)
	if err != nil {
		t.Fatalf("StartEmbedded on loopback without users: %v", err)
	}
	local.Shutdown()
}

func TestEmbeddedServesTLS(t *testing.T) {
	cert, key := selfSigned(t)
	reg := bus.OpenRegistry(filepath.Join(t.TempDir(), "users.json"))
	_, creds, err := reg.Issue(bus.Admin(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	users, _ := reg.Users()
	e, err := bus.StartEmbedded(bus.EmbeddedConfig{Dir: t.TempDir(), Listen: "127.0.0.1:0", Users: users, Self: bus.Enroll(),
		TLSCert: cert, TLSKey: key}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Shutdown()
	credsFile := writeTemp(t, creds)
	// Without the CA the client cannot tell the server is genuine.
	if nc, err := nats.Connect(e.URL(), mustNkey(t, credsFile), nats.Timeout(2*time.Second)); err == nil {
		nc.Close()
		t.Error("connected without trusting the server's certificate")
	}
	// A plain-text client gets nowhere.
	if c, err := net.DialTimeout("tcp", e.URL()[len("nats://"):], 2*time.Second); err == nil {
		c.SetDeadline(time.Now().Add(2 * time.Second))
		buf := make([]byte, 512)
		n, _ := c.Read(buf) // INFO with tls_required
		c.Write([]byte("CONNECT {}\r\nPING\r\n"))
		m, _ := c.Read(buf[n:])
		if got := string(buf[n : n+m]); len(got) >= 4 && got[:4] == "PONG" {
			t.Errorf("a plain-text client got %q", got)
		}
		c.Close()
	}
	nc, err := bus.Connect(bus.Options{URL: e.URL(), CredsFile: credsFile, TLSCA: cert}, bus.Admin(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	deadline := time.Now().Add(10 * time.Second)
	for nc.Status() != nats.CONNECTED {
		if time.Now().After(deadline) {
			t.Fatalf("admin over TLS did not connect: %v", nc.LastError())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !nc.TLSRequired() {
		t.Error("the connection is not TLS")
	}
	// The program running the server connects in process, without TLS.
	self, err := e.Connect(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer self.Close()
	if err := self.Flush(); err != nil {
		t.Errorf("in-process connection: %v", err)
	}
}

// selfSigned writes a certificate for 127.0.0.1 that is its own CA, and its
// key, and returns their paths.
func selfSigned(t *testing.T) (cert, key string) {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "scenicgate test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cert, key = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	os.WriteFile(key, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600)
	return cert, key
}
