package bus

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/nats-io/nkeys"
)

// A credentials file holds one identity's NATS user nkey seed in the
// decorated form NATS tools read (nats.NkeyOptionFromSeed, the nats CLI's
// --nkey), after comment lines naming the identity:
//
//	# ScenicGate NATS credentials: gate north-1
//	# key UB…; issued 2026-11-26T08:00:00Z. Keep this file secret (mode 0600).
//	-----BEGIN USER NKEY SEED-----
//	SU…
//	------END USER NKEY SEED------
//
// The server knows only the public key (see Registry and ServerConfig).
const credentialsHeader = "# ScenicGate NATS credentials: "

// ErrBadCredentials: a credentials file that holds no user seed, or names an
// identity other than the program's.
var ErrBadCredentials = errors.New("bus: bad credentials")

// NewUserKey returns a new NATS user key pair: its public key (U…), which
// the server is told, and its seed (SU…), which only the user holds.
func NewUserKey() (public string, seed []byte, err error) {
	kp, err := nkeys.CreateUser()
	if err != nil {
		return "", nil, err
	}
	defer kp.Wipe()
	if public, err = kp.PublicKey(); err != nil {
		return "", nil, err
	}
	s, err := kp.Seed()
	if err != nil {
		return "", nil, err
	}
	// Wipe clears the key pair's own copy.
	return public, bytes.Clone(s), nil
}

// WriteCredentials writes the credentials file of identity id with seed.
func WriteCredentials(w io.Writer, id Identity, public string, seed []byte, issued time.Time) error {
	_, err := fmt.Fprintf(w, "%s%s\n# key %s; issued %s. Keep this file secret (mode 0600).\n"+
		"-----BEGIN USER NKEY SEED-----\n%s\n------END USER NKEY SEED------\n",
		credentialsHeader, id, public, issued.UTC().Format(time.RFC3339), seed)
	return err
}

// ReadCredentials returns the identity a credentials file names and its
// public key. A file without the ScenicGate header — a NATS .creds file made
// by other tools — gives a zero Identity. It fails with ErrBadCredentials
// when the file holds no user key.
func ReadCredentials(path string) (Identity, string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Identity{}, "", fmt.Errorf("bus: credentials: %w", err)
	}
	defer clear(data)
	var id Identity
	sc := bufio.NewScanner(bytes.NewReader(data))
	if sc.Scan() {
		if name, ok := strings.CutPrefix(sc.Text(), credentialsHeader); ok {
			role, gate, _ := strings.Cut(strings.TrimSpace(name), " ")
			id = Identity{Role: Role(role), ID: gate}
		}
	}
	kp, err := nkeys.ParseDecoratedUserNKey(data)
	if err != nil {
		return Identity{}, "", fmt.Errorf("%w: %s: %v", ErrBadCredentials, path, err)
	}
	defer kp.Wipe()
	public, err := kp.PublicKey()
	if err != nil {
		return Identity{}, "", fmt.Errorf("%w: %s: %v", ErrBadCredentials, path, err)
	}
	return id, public, nil
}

// isJWTCredentials reports whether a credentials file is a NATS .creds file
// with a user JWT, as issued for an operator-mode (decentralised) cluster.
func isJWTCredentials(path string) bool {
	data, err := os.ReadFile(path)
	if err != nil {
		return false
	}
	defer clear(data)
	return bytes.Contains(data, []byte("BEGIN NATS USER JWT"))
}
