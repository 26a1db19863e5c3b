package qrtoken_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/scenicgate/scenicgate/internal/qrtoken"
)

func TestLoadOrCreateKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "qr.key")
	first, err := qrtoken.LoadOrCreateKey(path)
	if err != nil {
		t.Fatalf("LoadOrCreateKey(new file): %v", err)
	}
	if len(first) != ed25519.PrivateKeySize {
		t.Fatalf("LoadOrCreateKey returned %d bytes; want %d", len(first), ed25519.PrivateKeySize)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := info.Mode().Perm(); perm != 0o600 {
		t.Errorf("key file mode = %v; want 0600", perm)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if block, _ := pem.Decode(data); block == nil || block.Type != "PRIVATE KEY" {
		t.Errorf("key file = %q; want a PEM PRIVATE KEY block", data)
	}
	second, err := qrtoken.LoadOrCreateKey(path)
	if err != nil || !first.Equal(second) {
		t.Errorf("LoadOrCreateKey(existing file) = %v; want the key created first", err)
	}
	entries, err := os.ReadDir(filepath.Dir(path))
	if err != nil || len(entries) != 1 {
		t.Errorf("folder holds %v (%v); want only the key file, no temporary files", entries, err)
	}
}

func TestLoadOrCreateKeyConcurrent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "qr.key")
	keys := make([]ed25519.PrivateKey, 8)
	errs := make([]error, len(keys))
	var wg sync.WaitGroup
	for i := range keys {
		wg.Go(func() { keys[i], errs[i] = qrtoken.LoadOrCreateKey(path) })
	}
	wg.Wait()
	for i := range keys {
		if errs[i] != nil || !keys[i].Equal(keys[0]) {
			t.Errorf("caller %d got %v; want the same key as caller 0", i, errs[i])
		}
	}
}

func TestLoadOrCreateKeyRefuses(t *testing.T) {
	good := func() []byte {
		der, err := x509.MarshalPKCS8PrivateKey(key(1))
		if err != nil {
			t.Fatal(err)
		}
		return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	}()
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecDER, err := x509.MarshalPKCS8PrivateKey(ecKey)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		data    []byte
		mode    os.FileMode
		wantErr error
	}{
		{"readable by group", good, 0o640, qrtoken.ErrKeyPermissions},
		{"readable by all", good, 0o644, qrtoken.ErrKeyPermissions},
		{"writable by others", good, 0o602, qrtoken.ErrKeyPermissions},
		{"empty file", nil, 0o600, qrtoken.ErrBadKey},
		{"raw 32-byte seed", bytes.Repeat([]byte{1}, 32), 0o600, qrtoken.ErrBadKey},
		{"raw 64-byte key", key(1), 0o600, qrtoken.ErrBadKey},
		{"truncated PEM", good[:len(good)/2], 0o600, qrtoken.ErrBadKey},
		{"PEM with a short key", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: good[:40]}), 0o600, qrtoken.ErrBadKey},
		{"wrong PEM type", bytes.Replace(good, []byte("PRIVATE KEY"), []byte("PUBLIC KEY"), 2), 0o600, qrtoken.ErrBadKey},
		{"two keys", append(bytes.Clone(good), good...), 0o600, qrtoken.ErrBadKey},
		{"ECDSA key", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: ecDER}), 0o600, qrtoken.ErrBadKey},
		{"oversized", append(bytes.Clone(good), bytes.Repeat([]byte("\n"), 5000)...), 0o600, qrtoken.ErrBadKey},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "qr.key")
			if err := os.WriteFile(path, tc.data, 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(path, tc.mode); err != nil {
				t.Fatal(err)
			}
			if _, err := qrtoken.LoadOrCreateKey(path); !errors.Is(err, tc.wantErr) {
				t.Errorf("LoadOrCreateKey(%s) = %v; want %v", tc.name, err, tc.wantErr)
			}
			// A refused file is left alone for staff to look at.
			if after, err := os.ReadFile(path); err != nil || !bytes.Equal(after, tc.data) {
				t.Errorf("key file changed after a refusal (%v)", err)
			}
		})
	}
	// The same good file with the right mode loads, so the cases above fail
	// for their flaw alone.
	path := filepath.Join(t.TempDir(), "qr.key")
	if err := os.WriteFile(path, good, 0o600); err != nil {
		t.Fatal(err)
	}
	if got, err := qrtoken.LoadOrCreateKey(path); err != nil || !got.Equal(key(1)) {
		t.Errorf("LoadOrCreateKey(good file) = %v; want key(1)", err)
	}
}

func TestLoadOrCreateKeyOddPaths(t *testing.T) {
	dir := t.TempDir()
	if _, err := qrtoken.LoadOrCreateKey(dir); !errors.Is(err, qrtoken.ErrKeyPermissions) {
		t.Errorf("LoadOrCreateKey(a folder) = %v; want ErrKeyPermissions", err)
	}
	missing := filepath.Join(dir, "no-such-folder", "qr.key")
	if _, err := qrtoken.LoadOrCreateKey(missing); err == nil {
		t.Errorf("LoadOrCreateKey(%s) = nil; want an error for the missing folder", missing)
	}
}

func TestPublicKeyText(t *testing.T) {
	pub := key(1).Public().(ed25519.PublicKey)
	text := qrtoken.MarshalPublicKey(pub)
	if len(text) != 43 {
		t.Errorf("MarshalPublicKey() = %q; want 43 characters", text)
	}
	forms := []string{
		text,
		" " + text + "\n",
		base64.StdEncoding.EncodeToString(pub),
		base64.URLEncoding.EncodeToString(pub),
	}
	for _, s := range forms {
		got, err := qrtoken.ParsePublicKey(s)
		if err != nil || !got.Equal(pub) {
			t.Errorf("ParsePublicKey(%q) = %x, %v; want %x", s, got, err, pub)
		}
	}
	for _, s := range []string{"", "not a key", text[:42], text + "AA", base64.StdEncoding.EncodeToString(key(1)),
		strings.Repeat("A", 43) + "!"} {
		if got, err := qrtoken.ParsePublicKey(s); !errors.Is(err, qrtoken.ErrBadKey) {
			t.Errorf("ParsePublicKey(%q) = %x, %v; want ErrBadKey", s, got, err)
		}
	}
}

func TestGenerateKey(t *testing.T) {
	a, err := qrtoken.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	b, err := qrtoken.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	if len(a) != ed25519.PrivateKeySize || a.Equal(b) {
		t.Errorf("GenerateKey twice = %d bytes, equal %v; want two different %d-byte keys", len(a), a.Equal(b), ed25519.PrivateKeySize)
	}
	s := signer(t, a)
	v, err := qrtoken.NewVerifier(s.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	token, err := s.Sign(claims)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(token, claims.IssuedAt); err != nil {
		t.Errorf("Verify with a generated key = %v; want nil", err)
	}
}
