package enrollclient

import (
	"context"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
)

// TestTLSWithTheSitesCA: a client given enroll's CA certificate talks to it
// over TLS; one without it refuses the unknown certificate.
func TestTLSWithTheSitesCA(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer staff-key" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"ticket_id": "T1", "name": "张三"}`))
	}))
	defer srv.Close()
	ca := filepath.Join(t.TempDir(), "enroll-ca.pem")
	os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o644)

	c, err := NewWithCA(srv.URL, "staff-key", ca)
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.Ticket(context.Background(), "T1")
	if err != nil || got.Name != "张三" {
		t.Errorf("Ticket over TLS = %+v, %v; want 张三", got, err)
	}
	if _, err := New(srv.URL, "staff-key").Ticket(context.Background(), "T1"); !errors.Is(err, ErrUnavailable) {
		t.Errorf("without the CA: %v; want ErrUnavailable (unknown authority)", err)
	}
	if _, err := NewWithCA(srv.URL, "k", filepath.Join(t.TempDir(), "missing.pem")); err == nil {
		t.Error("NewWithCA with a missing file succeeded")
	}
	empty := filepath.Join(t.TempDir(), "empty.pem")
	os.WriteFile(empty, []byte("not a certificate"), 0o644)
	if _, err := NewWithCA(srv.URL, "k", empty); err == nil {
		t.Error("NewWithCA with a file without a certificate succeeded")
	}
}

func TestPlain(t *testing.T) {
	for url, want := range map[string]bool{
		"http://127.0.0.1:8081":       false,
		"http://localhost:8081":       false,
		"http://[::1]:8081":           false,
		"https://10.0.0.5:8081":       false,
		"http://10.0.0.5:8081":        true,
		"http://enroll.site.lan:8081": true,
	} {
		if got := New(url, "k").Plain(); got != want {
			t.Errorf("New(%q).Plain() = %v; want %v", url, got, want)
		}
	}
}
