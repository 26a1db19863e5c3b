package httpserve

import (
	"log/slog"
	"net"
)

// Exposed reports whether a listener at addr accepts connections from other
// machines: a TCP address that is not loopback, including the unspecified
// 0.0.0.0 and [::]. Unix sockets and loopback addresses are not exposed.
func Exposed(addr net.Addr) bool {
	tcp, ok := addr.(*net.TCPAddr)
	return ok && !tcp.IP.IsLoopback()
}

// WarnIfPlain logs a warning, and returns true, when l is exposed to other
// machines (see Exposed) and tls is false: passwords, API keys, session
// cookies and personal data would then cross the network in clear text.
// Programs call it once when they start serving. A TLS proxy in front is
// fine only if it runs on the same machine and the program listens on
// loopback.
func WarnIfPlain(log *slog.Logger, l net.Listener, tls bool) bool {
	if tls || !Exposed(l.Addr()) {
		return false
	}
	log.Warn("serving plain HTTP on an address other machines can reach: passwords, keys, cookies and personal data cross the network unencrypted; "+
		"serve TLS (--tls-cert, --tls-key), or listen on 127.0.0.1 behind a TLS proxy on this machine",
		"addr", l.Addr().String())
	return true
}
