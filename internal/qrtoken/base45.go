package qrtoken

import "errors"

// base45Alphabet is RFC 9285's: the 45 characters of QR alphanumeric mode.
const base45Alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"

var errBase45 = errors.New("not base45")

// base45Value maps a character to its value, or -1.
var base45Value = func() [256]int8 {
	var v [256]int8
	for i := range v {
		v[i] = -1
	}
	for i := range len(base45Alphabet) {
		v[base45Alphabet[i]] = int8(i)
	}
	return v
}()

// base45Len is the encoded length of n bytes.
func base45Len(n int) int { return n/2*3 + n%2*2 }

func base45Encode(b []byte) string {
	out := make([]byte, 0, base45Len(len(b)))
	for len(b) >= 2 {
		n := int(b[0])<<8 | int(b[1])
		out = append(out, base45Alphabet[n%45], base45Alphabet[n/45%45], base45Alphabet[n/2025])
		b = b[2:]
	}
	if len(b) == 1 {
		n := int(b[0])
		out = append(out, base45Alphabet[n%45], base45Alphabet[n/45])
	}
	return string(out)
}

// base45Decode is strict: it rejects characters outside the alphabet, a
// length that leaves one character over, and groups whose value does not fit
// the bytes they stand for, so each byte string has exactly one encoding.
func base45Decode(s string) ([]byte, error) {
	if len(s)%3 == 1 {
		return nil, errBase45
	}
	out := make([]byte, 0, len(s)/3*2+1)
	for i := 0; i < len(s); i += 3 {
		group := s[i:min(i+3, len(s))]
		n := 0
		for j := len(group) - 1; j >= 0; j-- {
			v := base45Value[group[j]]
			if v < 0 {
				return nil, errBase45
			}
			n = n*45 + int(v)
		}
		if len(group) == 3 {
			if n > 0xFFFF {
				return nil, errBase45
			}
			out = append(out, byte(n>>8), byte(n))
		} else {
			if n > 0xFF {
				return nil, errBase45
			}
			out = append(out, byte(n))
		}
	}
	return out, nil
}
