// Package keys holds enroll's signing keys, in its data folder:
//
//   - enroll-signing.key signs every entitlement and the QR key set. Its
//     public key is the trust anchor gates are installed with
//     (gate --trust-enroll, printed by `enroll public-key`).
//   - qr-signing.key signs the QR codes printed on tickets. It can be
//     rotated (RotateQR, `enroll qr-key rotate`) while enroll runs: codes
//     signed with a retired key stay valid until the last ticket whose code
//     it signed has ended, so no printed ticket breaks.
//
// Both are PKCS #8 PEM Ed25519 keys with mode 0600.
package keys

import (
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/scenicgate/scenicgate/internal/qrtoken"
	"github.com/scenicgate/scenicgate/internal/signed"
	"github.com/scenicgate/scenicgate/proto/sgpb"
)

// Files in enroll's data folder.
const (
	SigningKeyFile = "enroll-signing.key"
	QRKeyFile      = "qr-signing.key"
	// RetiredQRFile lists the retired QR keys' public keys, as JSON.
	RetiredQRFile = "qr-retired.json"
)

// RetireGrace is added to a QR key's retirement time when working out which
// tickets it may have signed: a running enroll notices a rotation at its
// next signature, and a code signed in between must stay valid.
const RetireGrace = time.Minute

// Retired is a QR key that no longer signs codes.
type Retired struct {
	PublicKey ed25519.PublicKey `json:"public_key"`
	RetiredAt time.Time         `json:"retired_at"`
}

// Keys are enroll's keys. Sign follows a rotation of the QR key made by
// another process. Keys is safe for concurrent use.
type Keys struct {
	dir    string
	signer *signed.Signer

	mu     sync.Mutex
	qr     *qrtoken.Signer
	qrFile fs.FileInfo // of the file qr was loaded from
}

// Open loads the keys from dir, creating each on first use.
func Open(dir string) (*Keys, error) {
	s, err := signed.LoadOrCreateSigner(filepath.Join(dir, SigningKeyFile))
	if err != nil {
		return nil, fmt.Errorf("keys: %w", err)
	}
	k := &Keys{dir: dir, signer: s}
	if err := k.loadQR(); err != nil {
		return nil, err
	}
	return k, nil
}

// Signer signs entitlements and the QR key set.
func (k *Keys) Signer() *signed.Signer { return k.signer }

func (k *Keys) loadQR() error {
	path := filepath.Join(k.dir, QRKeyFile)
	priv, err := qrtoken.LoadOrCreateKey(path)
	if err != nil {
		return fmt.Errorf("keys: %w", err)
	}
	qr, err := qrtoken.NewSigner(priv)
	if err != nil {
		return err
	}
	info, err := os.Stat(path)
	if err != nil {
		return err
	}
	k.qr, k.qrFile = qr, info
	return nil
}

// current returns the QR signer, reloading it when the key file was
// replaced since it was loaded. A missing file (a rotation half done) keeps
// the key in use.
func (k *Keys) current() *qrtoken.Signer {
	k.mu.Lock()
	defer k.mu.Unlock()
	info, err := os.Stat(filepath.Join(k.dir, QRKeyFile))
	// A rotation replaces the file; the new one may reuse the old inode.
	if err == nil && (!os.SameFile(info, k.qrFile) || !info.ModTime().Equal(k.qrFile.ModTime())) {
		if err := k.loadQR(); err != nil {
			// The old key still verifies: codes signed with it stay valid.
			return k.qr
		}
	}
	return k.qr
}

// Sign signs a ticket's QR code with the current QR key.
func (k *Keys) Sign(c qrtoken.Claims) (string, error) { return k.current().Sign(c) }

// QRPublicKey is the public key of the current QR key.
func (k *Keys) QRPublicKey() ed25519.PublicKey { return k.current().PublicKey() }

// ListRetired returns the retired QR keys in dir, oldest first.
func ListRetired(dir string) ([]Retired, error) {
	data, err := os.ReadFile(filepath.Join(dir, RetiredQRFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("keys: %w", err)
	}
	var list []Retired
	if err := json.Unmarshal(data, &list); err != nil {
		return nil, fmt.Errorf("keys: %s: %w", RetiredQRFile, err)
	}
	return list, nil
}

// LastValidUntil tells when the last ticket whose QR code was issued before
// a time ends; zero when there is none.
type LastValidUntil func(issuedBefore time.Time) (time.Time, error)

// QRKeySet returns the keys that verify QR codes at now: the current key,
// and each retired key until the last ticket it may have signed has ended.
func (k *Keys) QRKeySet(now time.Time, last LastValidUntil) (*sgpb.QRKeySet, error) {
	set := &sgpb.QRKeySet{Keys: []*sgpb.QRKey{{PublicKey: k.QRPublicKey()}}}
	retired, err := ListRetired(k.dir)
	if err != nil {
		return nil, err
	}
	for _, r := range retired {
		if slices.ContainsFunc(set.Keys, func(q *sgpb.QRKey) bool { return ed25519.PublicKey(q.PublicKey).Equal(r.PublicKey) }) {
			continue // a rotation cut short: still the current key
		}
		until, err := last(r.RetiredAt.Add(RetireGrace))
		if err != nil {
			return nil, err
		}
		if !until.After(now) {
			continue // every code it signed has expired
		}
		set.Keys = append(set.Keys, &sgpb.QRKey{PublicKey: r.PublicKey, NotAfterMs: until.UnixMilli()})
	}
	return set, nil
}

// RotateQR retires the current QR key and makes a new one. The running
// enroll signs with the new key from its next code on and publishes both.
// It returns the old and the new public key.
func RotateQR(dir string, now time.Time) (old, fresh ed25519.PublicKey, err error) {
	unlock, err := lock(dir)
	if err != nil {
		return nil, nil, err
	}
	defer unlock()
	path := filepath.Join(dir, QRKeyFile)
	priv, err := qrtoken.LoadOrCreateKey(path)
	if err != nil {
		return nil, nil, fmt.Errorf("keys: %w", err)
	}
	old = priv.Public().(ed25519.PublicKey)
	retired, err := ListRetired(dir)
	if err != nil {
		return nil, nil, err
	}
	retired = append(retired, Retired{PublicKey: old, RetiredAt: now.UTC()})
	if err := writeFile(filepath.Join(dir, RetiredQRFile), retired); err != nil {
		return nil, nil, err
	}
	// The old key is listed as retired before it goes: a crash here leaves
	// it current and listed, which verifies the same codes.
	if err := os.Remove(path); err != nil {
		return nil, nil, fmt.Errorf("keys: %w", err)
	}
	priv, err = qrtoken.LoadOrCreateKey(path)
	if err != nil {
		return nil, nil, fmt.Errorf("keys: %w", err)
	}
	return old, priv.Public().(ed25519.PublicKey), nil
}

func lock(dir string) (func(), error) {
	f, err := os.OpenFile(filepath.Join(dir, ".qr-keys.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("keys: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("keys: %w", err)
	}
	return func() { syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }, nil
}

func writeFile(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".new*")
	if err != nil {
		return fmt.Errorf("keys: %w", err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(append(data, '\n'))
	if err == nil {
		err = tmp.Sync()
	}
	if err = errors.Join(err, tmp.Close()); err != nil {
		return fmt.Errorf("keys: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("keys: %w", err)
	}
	return nil
}
