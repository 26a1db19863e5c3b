package qrtoken

import (
	"crypto/ed25519"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Errors of the key functions; test for them with errors.Is.
var (
	// ErrBadKey: a key, or a key file, is not an Ed25519 key of the right
	// size in the expected form.
	ErrBadKey = errors.New("qrtoken: bad key")
	// ErrKeyPermissions: a private key file can be read or written by users
	// other than its owner, or is not a regular file.
	ErrKeyPermissions = errors.New("qrtoken: private key file must be a regular file with mode 0600 or stricter")
)

// pemType is the block type of a PKCS #8 private key, which openssl reads
// too (openssl pkey -in key.pem -pubout).
const pemType = "PRIVATE KEY"

// maxKeyFile is far above the 119 bytes of a PEM Ed25519 key; anything
// larger is not our key file.
const maxKeyFile = 4096

// GenerateKey returns a new random private key.
func GenerateKey() (ed25519.PrivateKey, error) {
	_, priv, err := ed25519.GenerateKey(nil)
	return priv, err
}

// LoadOrCreateKey returns the private key stored at path, a PKCS #8 PEM file.
// When no file exists it generates a key and writes it with mode 0600, so
// the key is created once and every later start signs with the same key. It
// refuses, with ErrKeyPermissions, a file that group or others may access
// and, with ErrBadKey, a file that holds anything but one Ed25519 key. The
// folder must exist. Concurrent callers for the same path all get the key
// that was written first.
func LoadOrCreateKey(path string) (ed25519.PrivateKey, error) {
	priv, err := loadKey(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return priv, err
	}
	return createKey(path)
}

func loadKey(path string) (ed25519.PrivateKey, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !info.Mode().IsRegular() || info.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%w: %s has mode %v", ErrKeyPermissions, path, info.Mode())
	}
	data, err := io.ReadAll(io.LimitReader(f, maxKeyFile+1))
	if err != nil {
		return nil, fmt.Errorf("qrtoken: read key %s: %w", path, err)
	}
	if len(data) > maxKeyFile {
		return nil, fmt.Errorf("%w: %s is larger than %d bytes", ErrBadKey, path, maxKeyFile)
	}
	block, rest := pem.Decode(data)
	if block == nil || block.Type != pemType || len(strings.TrimSpace(string(rest))) != 0 {
		return nil, fmt.Errorf("%w: %s is not one PEM %q block", ErrBadKey, path, pemType)
	}
	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrBadKey, path, err)
	}
	priv, ok := key.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%w: %s holds a %T, not an Ed25519 key", ErrBadKey, path, key)
	}
	return priv, nil
}

// createKey writes the key to a temporary file and hard-links it into place:
// the link fails if another process won the race, and a crash never leaves a
// half-written key at path that the next start would refuse.
func createKey(path string) (ed25519.PrivateKey, error) {
	priv, err := GenerateKey()
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, err
	}
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".new*") // mode 0600
	if err != nil {
		return nil, fmt.Errorf("qrtoken: create key: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := writeAndSync(tmp, pem.EncodeToMemory(&pem.Block{Type: pemType, Bytes: der})); err != nil {
		return nil, fmt.Errorf("qrtoken: write key: %w", err)
	}
	if err := os.Link(tmp.Name(), path); errors.Is(err, fs.ErrExist) {
		return loadKey(path)
	} else if err != nil {
		return nil, fmt.Errorf("qrtoken: create key: %w", err)
	}
	if err := syncDir(dir); err != nil {
		return nil, fmt.Errorf("qrtoken: create key: %w", err)
	}
	return priv, nil
}

func writeAndSync(f *os.File, data []byte) error {
	_, err := f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	return errors.Join(err, f.Close())
}

// syncDir makes the new directory entry durable, so a power cut right after
// start-up cannot lose the key that the first codes were signed with.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	return errors.Join(d.Sync(), d.Close())
}

// MarshalPublicKey returns the text form of a public key that gates are
// configured with: its 32 bytes in unpadded URL-safe base64, 43 characters.
func MarshalPublicKey(pub ed25519.PublicKey) string {
	return base64.RawURLEncoding.EncodeToString(pub)
}

// ParsePublicKey reads the text form of MarshalPublicKey. It also accepts
// standard base64 and padding, as openssl and base64(1) print it, and
// ignores surrounding white space. It fails with ErrBadKey unless the text
// holds exactly ed25519.PublicKeySize bytes.
func ParsePublicKey(s string) (ed25519.PublicKey, error) {
	t := strings.TrimRight(strings.TrimSpace(s), "=")
	t = strings.NewReplacer("+", "-", "/", "_").Replace(t)
	b, err := base64.RawURLEncoding.DecodeString(t)
	if err != nil {
		return nil, fmt.Errorf("%w: public key %q: %v", ErrBadKey, s, err)
	}
	if len(b) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("%w: public key of %d bytes", ErrBadKey, len(b))
	}
	return ed25519.PublicKey(b), nil
}
