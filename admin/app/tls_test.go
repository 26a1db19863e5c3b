package app

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/scenicgate/scenicgate/admin/store"
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
}
