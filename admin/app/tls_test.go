package app

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scenicgate/scenicgate/admin/store"
	"github.com/scenicgate/scenicgate/internal/bus/bustest"
)

// selfSigned writes a certificate for 127.0.0.1 and its key into dir.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "admin-test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	return certFile, keyFile
}

func TestTLSMakesCookiesSecure(t *testing.T) {
	certFile, keyFile := selfSigned(t, t.TempDir())
	e := newEnv(t, envOptions{tune: func(c *Config) { c.TLSCert, c.TLSKey = certFile, keyFile }})
	e.addUser("op1", store.Operator, "operator-pass")
	c := e.client()
	c.base = strings.Replace(e.url, "http://", "https://", 1)
	c.http.Transport = &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}
	a := c.login("op1", "operator-pass")
	if a.status != http.StatusSeeOther {
		t.Fatalf("login over TLS: %s", fmtAnswer(a))
	}
	cookies := (&http.Response{Header: a.header}).Cookies()
	var session *http.Cookie
	for _, ck := range cookies {
		if ck.Name == "sg_session" {
			session = ck
		}
	}
	if session == nil || !session.Secure || !session.HttpOnly || session.SameSite != http.SameSiteLaxMode {
		t.Errorf("session cookie %+v; want Secure, HttpOnly, SameSite=Lax", session)
	}
	u, _ := url.Parse(c.base)
	if len(c.http.Jar.Cookies(u)) == 0 {
		t.Error("the browser kept no cookie over HTTPS")
	}
	if got := a.header.Get("Strict-Transport-Security"); got != "max-age=31536000" {
		t.Errorf("Strict-Transport-Security = %q; want max-age=31536000", got)
	}
}

// TestSecureCookiesBehindATLSProxy runs admin on plain HTTP, as behind a
// TLS proxy on the same machine: with --secure-cookies its cookies are
// marked Secure and its answers carry HSTS, for the browser on the far side
// of the proxy; without, neither.
func TestSecureCookiesBehindATLSProxy(t *testing.T) {
	for _, secure := range []bool{true, false} {
		t.Run(fmt.Sprintf("secure-cookies=%v", secure), func(t *testing.T) {
			e := newEnv(t, envOptions{tune: func(c *Config) { c.SecureCookies = secure }})
			e.addUser("op1", store.Operator, "operator-pass")
			c := e.client()
			page := c.get("/login")
			a := c.login("op1", "operator-pass")
			if a.status != http.StatusSeeOther {
				t.Fatalf("login: %s", fmtAnswer(a))
			}
			want := map[bool]string{true: "max-age=31536000", false: ""}[secure]
			for name, h := range map[string]http.Header{"GET /login": page.header, "POST /login": a.header} {
				if got := h.Get("Strict-Transport-Security"); got != want {
					t.Errorf("%s: Strict-Transport-Security = %q; want %q", name, got, want)
				}
			}
			cookies := map[string]*http.Cookie{}
			for _, h := range []http.Header{page.header, a.header} {
				for _, ck := range (&http.Response{Header: h}).Cookies() {
					cookies[ck.Name] = ck
				}
			}
			for _, name := range []string{"sg_session", "sg_login_csrf"} {
				if ck := cookies[name]; ck == nil || ck.Secure != secure || !ck.HttpOnly {
					t.Errorf("cookie %s = %+v; want HttpOnly and Secure %v", name, ck, secure)
				}
			}
		})
	}
}

// syncBuffer is a log destination that goroutines may share.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestPlainHTTPOffLoopbackIsWarnedAbout starts admin's server on an
// address other machines can reach, without TLS: the log says so. On
// loopback, or with TLS, it does not.
func TestPlainHTTPOffLoopbackIsWarnedAbout(t *testing.T) {
	certFile, keyFile := selfSigned(t, t.TempDir())
	tests := []struct {
		name, addr string
		tls        bool
		warn       bool
	}{
		{"plain on all addresses", "0.0.0.0:0", false, true},
		{"plain on loopback", "127.0.0.1:0", false, false},
		{"TLS on all addresses", "0.0.0.0:0", true, false},
	}
	srv := bustest.Embedded(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var logs syncBuffer
			cfg := DefaultConfig()
			cfg.Data, cfg.NATS.URL = t.TempDir(), srv.URL
			if tc.tls {
				cfg.TLSCert, cfg.TLSKey = certFile, keyFile
			}
			a, err := New(context.Background(), cfg, slog.New(slog.NewTextHandler(&logs, nil)))
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			l, err := net.Listen("tcp", tc.addr)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			served := make(chan error, 1)
			go func() { served <- a.Serve(ctx, l) }()
			// Serve checks the address before it logs that it listens.
			deadline := time.Now().Add(time.Minute)
			for !strings.Contains(logs.String(), "admin UI listening") && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			cancel()
			if err := <-served; err != nil {
				t.Errorf("Serve = %v", err)
			}
			if warned := strings.Contains(logs.String(), "level=WARN msg=\"serving plain HTTP"); warned != tc.warn {
				t.Errorf("serving on %s (TLS %v): warned %v; want %v. Log:\n%s", l.Addr(), tc.tls, warned, tc.warn, logs.String())
			}
		})
	}
}
