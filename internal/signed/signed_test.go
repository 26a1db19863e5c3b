package signed_test

import (
	"crypto/ed25519"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/scenicgate/scenicgate/internal/qrtoken"
	"github.com/scenicgate/scenicgate/internal/signed"
	"github.com/scenicgate/scenicgate/proto/sgpb"
)

func newSigner(t *testing.T) *signed.Signer {
	t.Helper()
	priv, err := qrtoken.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	s, err := signed.NewSigner(priv)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestOpenRefusesWhatTheTrustedKeyDidNotSign(t *testing.T) {
	enroll, intruder := newSigner(t), newSigner(t)
	trusted, err := signed.NewKeys(enroll.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	at := time.UnixMilli(1_790_000_000_123)
	good := enroll.Sign(signed.Entitlement, []byte("ticket T1, version 3"), at)

	msg, err := trusted.Open(signed.Entitlement, good)
	if err != nil || string(msg.Payload) != "ticket T1, version 3" || !msg.SignedAt.Equal(at) || msg.KeyID != enroll.KeyID() {
		t.Fatalf("Open(good) = %+v, %v; want the payload signed at %v by %s", msg, err, at, enroll.KeyID())
	}

	tamper := func(f func(*sgpb.Signed)) []byte {
		var env sgpb.Signed
		if err := proto.Unmarshal(good, &env); err != nil {
			t.Fatal(err)
		}
		f(&env)
		b, _ := proto.Marshal(&env)
		return b
	}
	raw, _ := proto.Marshal(&sgpb.Entitlement{TicketId: "T1", OrderId: "O1", VisitorName: "张三", Version: 3})
	cases := []struct {
		name    string
		purpose signed.Purpose
		data    []byte
		want    error
	}{
		{"another purpose", signed.GateCommand, good, signed.ErrBadSignature},
		{"an intruder's key", signed.Entitlement, intruder.Sign(signed.Entitlement, []byte("ticket T1, version 3"), at), signed.ErrUnknownKey},
		{"an intruder's signature under enroll's key id", signed.Entitlement, tamper(func(e *sgpb.Signed) {
			var other sgpb.Signed
			proto.Unmarshal(intruder.Sign(signed.Entitlement, e.Payload, at), &other)
			e.Signature = other.Signature
		}), signed.ErrBadSignature},
		{"a changed payload", signed.Entitlement, tamper(func(e *sgpb.Signed) { e.Payload = []byte("ticket T1, version 9") }), signed.ErrBadSignature},
		{"a changed time", signed.Entitlement, tamper(func(e *sgpb.Signed) { e.SignedAtMs++ }), signed.ErrBadSignature},
		{"a short signature", signed.Entitlement, tamper(func(e *sgpb.Signed) { e.Signature = e.Signature[:10] }), signed.ErrBadSignature},
		{"no signature", signed.Entitlement, tamper(func(e *sgpb.Signed) { e.Signature = nil }), signed.ErrUnsigned},
		{"a bare entitlement", signed.Entitlement, raw, nil},
		{"garbage", signed.Entitlement, []byte{0xff, 0xff, 0xff}, signed.ErrUnsigned},
		{"nothing", signed.Entitlement, nil, signed.ErrUnsigned},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			msg, err := trusted.Open(c.purpose, c.data)
			if err == nil {
				t.Fatalf("Open = %q; want it refused", msg.Payload)
			}
			if c.want != nil && !errors.Is(err, c.want) {
				t.Errorf("Open = %v; want %v", err, c.want)
			}
		})
	}
}

func TestLoadKeysFromFlagOrFile(t *testing.T) {
	a, b := newSigner(t), newSigner(t)
	text := qrtoken.MarshalPublicKey(a.PublicKey()) + "," + qrtoken.MarshalPublicKey(b.PublicKey())
	file := filepath.Join(t.TempDir(), "enroll.pub")
	os.WriteFile(file, []byte("# enroll's key, and the next one\n"+qrtoken.MarshalPublicKey(a.PublicKey())+"\n"+
		qrtoken.MarshalPublicKey(b.PublicKey())+"\n"), 0o644)
	for _, arg := range []string{text, file} {
		keys, err := signed.LoadKeys(arg)
		if err != nil {
			t.Fatalf("LoadKeys(%q): %v", arg, err)
		}
		if !keys.Has(a.PublicKey()) || !keys.Has(b.PublicKey()) {
			t.Errorf("LoadKeys(%q) lacks a key", arg)
		}
	}
	for _, arg := range []string{"", "not-a-key", filepath.Join(t.TempDir(), "missing.pub")} {
		if _, err := signed.LoadKeys(arg); err == nil {
			t.Errorf("LoadKeys(%q) succeeded; want an error", arg)
		}
	}
	if _, err := signed.NewKeys(ed25519.PublicKey(make([]byte, 31))); !errors.Is(err, qrtoken.ErrBadKey) {
		t.Errorf("NewKeys(31 bytes) = %v; want ErrBadKey", err)
	}
}
