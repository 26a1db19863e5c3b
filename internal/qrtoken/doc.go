// Package qrtoken signs and verifies the QR codes printed on tickets, so a
// gate can check a code offline: enroll holds an Ed25519 private key and
// signs, gates hold the public keys and verify.
//
// # Format
//
// A token is the text "SG1." followed by the Base45 encoding (RFC 9285) of
// body ‖ signature, where
//
//	body      = len(ticket id) ‖ ticket id ‖ len(token id) ‖ token id ‖
//	            uvarint(issued-at, Unix seconds) ‖ uvarint(expires, Unix seconds)
//	signature = Ed25519(private key, "SG1." ‖ body), 64 bytes
//
// with each length one byte. The prefix is signed too, so a token cannot be
// passed off as another version. Times have one-second resolution.
//
// # Why Base45
//
// A QR code stores the characters 0-9, A-Z, space and $%*+-./: in its
// alphanumeric mode at 5.5 bits each, but anything else, base64 included, in
// byte mode at 8 bits each. Base45 uses exactly that alphabet: 2 bytes become
// 3 characters, 16.5 bits of QR data against the 21.3 bits base64 needs, so
// a token needs about a fifth fewer QR data bits and, printed at the same
// size, gets larger modules that a 640x480 gate camera resolves from further
// away. The EU Digital COVID Certificate ("HC1:") made the same choice. The
// text is longer than base64 would be, which matters only to humans. Tokens
// are at most MaxLen characters: with a NewTokenID, a ticket id of up to 24
// characters fits a version 7 QR code at error correction level M (45x45
// modules) and one of 36, such as a UUID, a version 8 (49x49), where base64
// in byte mode would need a version 9 (53x53) for either. Base45 text
// contains spaces: pass tokens on byte for byte and never trim them.
package qrtoken
