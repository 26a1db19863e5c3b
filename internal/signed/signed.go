// Package signed wraps what ScenicGate programs tell each other over NATS in
// Ed25519-signed envelopes (sgpb.Signed), and opens them against public keys
// a program was given at installation — never against keys learned from the
// bus. enroll signs entitlements and the QR key set; admin signs the site
// settings, the occupancy and gate commands; gates open them.
//
// The signature covers
//
//	purpose ‖ 0x00 ‖ signed_at_ms (8 bytes, big-endian) ‖ payload
//
// where the purpose names the kind of message, so a value signed as one kind
// (say, site settings) is never accepted as another (a gate command).
package signed

import (
	"bufio"
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/scenicgate/scenicgate/internal/qrtoken"
	"github.com/scenicgate/scenicgate/proto/sgpb"
)

// Purpose names a kind of signed message.
type Purpose string

// The kinds of message that travel signed.
const (
	Entitlement Purpose = "scenicgate/entitlement/v1"
	QRKeys      Purpose = "scenicgate/qr-keys/v1"
	Settings    Purpose = "scenicgate/settings/v1"
	Occupancy   Purpose = "scenicgate/occupancy/v1"
	GateCommand Purpose = "scenicgate/gate-command/v1"
)

// Errors of Open and the key functions; test for them with errors.Is.
var (
	// ErrUnsigned: the data is not a signed envelope, or carries no
	// signature.
	ErrUnsigned = errors.New("signed: not signed")
	// ErrUnknownKey: the envelope names a key that is not trusted.
	ErrUnknownKey = errors.New("signed: signed by an untrusted key")
	// ErrBadSignature: the signature does not match the content, the
	// purpose or the key: it was forged or altered.
	ErrBadSignature = errors.New("signed: bad signature")
	// ErrNoKeys: a set of trusted keys was asked for but none was given.
	ErrNoKeys = errors.New("signed: no trusted key")
)

// Message is an opened envelope.
type Message struct {
	// Payload is the signed content. It is the caller's to keep.
	Payload []byte
	// SignedAt is when the signer says it signed, by its clock.
	SignedAt time.Time
	// KeyID names the key that signed.
	KeyID string
}

// KeyID returns the short name of a public key that envelopes carry: the
// first 8 bytes of its SHA-256 in unpadded URL-safe base64 (11 characters).
func KeyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return base64.RawURLEncoding.EncodeToString(sum[:8])
}

// Signer signs envelopes with one private key. It is safe for concurrent
// use.
type Signer struct {
	priv ed25519.PrivateKey
	id   string
}

// NewSigner returns a Signer for the private key, which it copies. It fails
// with qrtoken.ErrBadKey when the key does not have ed25519.PrivateKeySize
// bytes.
func NewSigner(priv ed25519.PrivateKey) (*Signer, error) {
	if len(priv) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("%w: private key of %d bytes", qrtoken.ErrBadKey, len(priv))
	}
	s := &Signer{priv: slices.Clone(priv)}
	s.id = KeyID(s.PublicKey())
	return s, nil
}

// LoadOrCreateSigner returns a Signer for the key file at path, creating the
// key on first use as qrtoken.LoadOrCreateKey does (PKCS #8 PEM, mode 0600).
func LoadOrCreateSigner(path string) (*Signer, error) {
	priv, err := qrtoken.LoadOrCreateKey(path)
	if err != nil {
		return nil, err
	}
	return NewSigner(priv)
}

// PublicKey returns the key that opens this Signer's envelopes. The caller
// owns the returned slice.
func (s *Signer) PublicKey() ed25519.PublicKey {
	return slices.Clone(s.priv.Public().(ed25519.PublicKey))
}

// KeyID returns KeyID(s.PublicKey()).
func (s *Signer) KeyID() string { return s.id }

// Sign returns the encoded envelope of payload for purpose p, stamped at.
func (s *Signer) Sign(p Purpose, payload []byte, at time.Time) []byte {
	ms := at.UnixMilli()
	env := &sgpb.Signed{
		Payload:    payload,
		KeyId:      s.id,
		Signature:  ed25519.Sign(s.priv, signedBytes(p, ms, payload)),
		SignedAtMs: ms,
	}
	b, err := proto.Marshal(env)
	if err != nil {
		panic(fmt.Sprintf("signed: encode envelope: %v", err)) // bytes and strings always encode
	}
	return b
}

// SignMessage is Sign for the protobuf encoding of m.
func (s *Signer) SignMessage(p Purpose, m proto.Message, at time.Time) ([]byte, error) {
	payload, err := proto.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("signed: encode %s: %w", p, err)
	}
	return s.Sign(p, payload, at), nil
}

func signedBytes(p Purpose, ms int64, payload []byte) []byte {
	b := make([]byte, 0, len(p)+1+8+len(payload))
	b = append(b, p...)
	b = append(b, 0)
	b = binary.BigEndian.AppendUint64(b, uint64(ms))
	return append(b, payload...)
}

// Keys is a set of trusted public keys. It is safe for concurrent use and
// never changes once made.
type Keys struct {
	byID map[string]ed25519.PublicKey
}

// NewKeys returns the set of pubs. It fails with ErrNoKeys for none and with
// qrtoken.ErrBadKey for a key of the wrong size.
func NewKeys(pubs ...ed25519.PublicKey) (*Keys, error) {
	if len(pubs) == 0 {
		return nil, ErrNoKeys
	}
	k := &Keys{byID: map[string]ed25519.PublicKey{}}
	for _, pub := range pubs {
		if len(pub) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("%w: public key of %d bytes", qrtoken.ErrBadKey, len(pub))
		}
		k.byID[KeyID(pub)] = slices.Clone(pub)
	}
	return k, nil
}

// ParseKeys reads public keys in their text form (qrtoken.MarshalPublicKey),
// separated by commas, white space or new lines; lines starting with # are
// comments.
func ParseKeys(text string) (*Keys, error) {
	var pubs []ed25519.PublicKey
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		for _, field := range strings.FieldsFunc(line, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' }) {
			pub, err := qrtoken.ParsePublicKey(field)
			if err != nil {
				return nil, err
			}
			pubs = append(pubs, pub)
		}
	}
	return NewKeys(pubs...)
}

// LoadKeys returns the keys named by a command-line value: the keys
// themselves (as ParseKeys reads them) or the path of a file holding them,
// such as the output of `enroll public-key`.
func LoadKeys(arg string) (*Keys, error) {
	if strings.TrimSpace(arg) == "" {
		return nil, ErrNoKeys
	}
	keys, err := ParseKeys(arg)
	if err == nil {
		return keys, nil
	}
	data, ferr := os.ReadFile(arg)
	if ferr != nil {
		if strings.ContainsRune(arg, os.PathSeparator) {
			return nil, fmt.Errorf("signed: read keys: %w", ferr)
		}
		return nil, err
	}
	keys, err = ParseKeys(string(data))
	if err != nil {
		return nil, fmt.Errorf("signed: keys in %s: %w", arg, err)
	}
	return keys, nil
}

// Has reports whether pub is in the set.
func (k *Keys) Has(pub ed25519.PublicKey) bool {
	got, ok := k.byID[KeyID(pub)]
	return ok && bytes.Equal(got, pub)
}

// Open checks that data is an envelope of purpose p signed by one of the
// keys and returns its content. It fails with ErrUnsigned, ErrUnknownKey or
// ErrBadSignature.
func (k *Keys) Open(p Purpose, data []byte) (Message, error) {
	var env sgpb.Signed
	if err := proto.Unmarshal(data, &env); err != nil || len(env.Signature) == 0 || env.KeyId == "" {
		return Message{}, ErrUnsigned
	}
	pub, ok := k.byID[env.KeyId]
	if !ok {
		return Message{}, fmt.Errorf("%w: key %q", ErrUnknownKey, env.KeyId)
	}
	if len(env.Signature) != ed25519.SignatureSize ||
		!ed25519.Verify(pub, signedBytes(p, env.SignedAtMs, env.Payload), env.Signature) {
		return Message{}, ErrBadSignature
	}
	return Message{Payload: env.Payload, SignedAt: time.UnixMilli(env.SignedAtMs), KeyID: env.KeyId}, nil
}

// OpenMessage is Open followed by decoding the payload into m. A payload
// that is authentic but does not decode fails with an error that wraps none
// of the sentinels.
func (k *Keys) OpenMessage(p Purpose, data []byte, m proto.Message) (Message, error) {
	msg, err := k.Open(p, data)
	if err != nil {
		return msg, err
	}
	if err := proto.Unmarshal(msg.Payload, m); err != nil {
		return msg, fmt.Errorf("signed: decode %s: %w", p, err)
	}
	return msg, nil
}

// Unwrap returns an envelope's payload without checking the signature, for
// programs that only display what they read (admin showing tickets) and
// hold no keys to check against.
func Unwrap(data []byte) ([]byte, error) {
	var env sgpb.Signed
	if err := proto.Unmarshal(data, &env); err != nil || len(env.Signature) == 0 {
		return nil, ErrUnsigned
	}
	return env.Payload, nil
}
