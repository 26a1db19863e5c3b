package node

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scenicgate/scenicgate/hardware/relay"
	"github.com/scenicgate/scenicgate/internal/qrtoken"
)

// TestNewRefusesBadTrustKeys gives a gate trust keys that are garbage, a
// file that is not there, or a file without a key: it must refuse to start
// with an error naming the flag, not crash (under systemd a crash loops),
// and leave the relay it opened closed.
func TestNewRefusesBadTrustKeys(t *testing.T) {
	for _, c := range []struct{ name, enroll, admin, want string }{
		{"garbage enroll key", "garbage", "garbage", "--trust-enroll"},
		{"missing file", filepath.Join(t.TempDir(), "enroll.pub"), "garbage", "--trust-enroll"},
		{"garbage admin key", "", "garbage", "--trust-admin"},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := startSite(t)
			cfg := DefaultConfig()
			cfg.ID, cfg.Data, cfg.Listen, cfg.Relay = "trust-1", t.TempDir(), "", "log"
			cfg.TrustEnroll, cfg.TrustAdmin = c.enroll, c.admin
			if cfg.TrustEnroll == "" {
				cfg.TrustEnroll = qrtoken.MarshalPublicKey(s.enroll.Keys().Signer().PublicKey())
			}
			r, err := relay.Open("log", relay.Options{Logger: quietLog()})
			if err != nil {
				t.Fatal(err)
			}
			n, err := New(context.Background(), cfg, Parts{Engine: engine, Relay: r}, quietLog())
			if err == nil {
				n.Close()
				t.Fatalf("New with %s = nil error; want one", c.name)
			}
			if n != nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("New with %s = %v, %v; want no node and an error naming %s", c.name, n, err, c.want)
			}
		})
	}
}
