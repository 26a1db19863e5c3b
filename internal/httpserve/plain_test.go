package httpserve

import (
	"bytes"
	"log/slog"
	"net"
	"strings"
	"testing"
)

func TestExposed(t *testing.T) {
	tests := []struct {
		addr net.Addr
		want bool
	}{
		{&net.TCPAddr{IP: net.ParseIP("127.0.0.1"), Port: 8080}, false},
		{&net.TCPAddr{IP: net.ParseIP("127.0.0.53"), Port: 8080}, false},
		{&net.TCPAddr{IP: net.IPv6loopback, Port: 8080}, false},
		{&net.TCPAddr{IP: net.IPv4zero, Port: 8080}, true},
		{&net.TCPAddr{IP: net.IPv6unspecified, Port: 8080}, true},
		{&net.TCPAddr{IP: net.ParseIP("192.168.1.20"), Port: 8080}, true},
		{&net.UnixAddr{Name: "/run/admin.sock", Net: "unix"}, false},
	}
	for _, tc := range tests {
		if got := Exposed(tc.addr); got != tc.want {
			t.Errorf("Exposed(%v) = %v; want %v", tc.addr, got, tc.want)
		}
	}
}

func TestWarnIfPlain(t *testing.T) {
	tests := []struct {
		addr string
		tls  bool
		warn bool
	}{
		{"127.0.0.1:0", false, false},
		{"0.0.0.0:0", false, true},
		{"0.0.0.0:0", true, false},
	}
	for _, tc := range tests {
		l, err := net.Listen("tcp", tc.addr)
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		got := WarnIfPlain(slog.New(slog.NewTextHandler(&buf, nil)), l, tc.tls)
		l.Close()
		logged := strings.Contains(buf.String(), "level=WARN") && strings.Contains(buf.String(), "plain HTTP")
		if got != tc.warn || logged != tc.warn {
			t.Errorf("WarnIfPlain(%s, tls %v) = %v, logged %q; want %v", tc.addr, tc.tls, got, buf.String(), tc.warn)
		}
	}
}
