package qrtoken

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"math/rand/v2"
	"testing"
	"time"
)

func TestBase45Vectors(t *testing.T) {
	// The examples of RFC 9285, section 4.
	tests := []struct{ in, want string }{
		{"", ""},
		{"AB", "BB8"},
		{"Hello!!", "%69 VD92EX0"},
		{"base-45", "UJCLQE7W581"},
		{"ietf!", "QED8WEX0"},
	}
	for _, tc := range tests {
		if got := base45Encode([]byte(tc.in)); got != tc.want {
			t.Errorf("base45Encode(%q) = %q; want %q", tc.in, got, tc.want)
		}
		if got, err := base45Decode(tc.want); err != nil || string(got) != tc.in {
			t.Errorf("base45Decode(%q) = %q, %v; want %q, nil", tc.want, got, err, tc.in)
		}
	}
}

func TestBase45RoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	edges := [][]byte{{0}, {0xFF}, {0, 0}, {0xFF, 0xFF}, {0xFF, 0xFF, 0xFF}}
	for n := range 300 {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		edges = append(edges, b)
	}
	for _, b := range edges {
		s := base45Encode(b)
		if len(s) != base45Len(len(b)) {
			t.Errorf("len(base45Encode(%d bytes)) = %d; want %d", len(b), len(s), base45Len(len(b)))
		}
		got, err := base45Decode(s)
		if err != nil || !bytes.Equal(got, b) {
			t.Errorf("base45Decode(base45Encode(%x)) = %x, %v; want the input", b, got, err)
		}
	}
}

func TestBase45Rejects(t *testing.T) {
	for _, in := range []string{
		"A",        // one character left over
		"BB8A",     // idem after a group
		"bb8",      // lower case is not in the alphabet
		"BB=",      // neither is '='
		"BB8\n",    // nor a line break
		"GGW",      // 65536 does not fit two bytes
		":::",      // 91124 neither
		"::",       // 2024 does not fit one byte
		"BB8\x00A", // NUL
		"ÄB8",      // multi-byte UTF-8
	} {
		if got, err := base45Decode(in); err == nil {
			t.Errorf("base45Decode(%q) = %x, nil; want an error", in, got)
		}
	}
}

// TestVerifySignedGarbage covers a body that the right key signed but that
// does not parse, which only a faulty or foreign signer could make.
func TestVerifySignedGarbage(t *testing.T) {
	priv := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize))
	v, err := NewVerifier(priv.Public().(ed25519.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	good, err := appendBody(nil, Claims{TicketID: "T1", TokenID: "K1", IssuedAt: time.Unix(1e9, 0), Expires: time.Unix(3e9, 0)})
	if err != nil {
		t.Fatal(err)
	}
	bodies := map[string][]byte{
		"trailing byte":      append(bytes.Clone(good), 0),
		"id longer than all": {200, 'T', 1, 'K', 1, 1},
		"empty ticket id":    {0, 2, 'K', '1', 1, 2},
		"empty token id":     {2, 'T', '1', 0, 1, 2},
		"varint overflow":    {1, 'T', 1, 'K', 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01, 1},
		"time past int64":    {1, 'T', 1, 'K', 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01, 1},
		"missing expiry":     {1, 'T', 1, 'K', 1, 0x80},
	}
	for name, body := range bodies {
		t.Run(name, func(t *testing.T) {
			sig := ed25519.Sign(priv, append([]byte(Prefix), body...))
			token := Prefix + base45Encode(append(bytes.Clone(body), sig...))
			if c, err := v.Verify(token, time.Unix(2e9, 0)); !errors.Is(err, ErrMalformed) {
				t.Errorf("Verify(signed %x) = %+v, %v; want ErrMalformed", body, c, err)
			}
		})
	}
	// The well-formed body signed the same way verifies, so the cases above
	// fail for their body alone.
	sig := ed25519.Sign(priv, append([]byte(Prefix), good...))
	if _, err := v.Verify(Prefix+base45Encode(append(good, sig...)), time.Unix(2e9, 0)); err != nil {
		t.Errorf("Verify(signed good body) = %v; want nil", err)
	}
}
