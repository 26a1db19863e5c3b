package node

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/scenicgate/scenicgate/hardware/camera"
	"github.com/scenicgate/scenicgate/internal/testenv"
	"github.com/scenicgate/scenicgate/proto/sgpb"
)

// photoFolder makes a folder camera showing each photo n times.
func photoFolder(t testing.TB, n int, photos ...string) string {
	dir := t.TempDir()
	k := 0
	for _, p := range photos {
		for i := 0; i < n; i++ {
			k++
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%03d-%s", k, p)), testenv.Photo(t, p), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	return dir
}

func TestFolderCameraToRelay(t *testing.T) {
	s := startSite(t)
	g := startGate(t, s, "gate-cam", nil)
	next := admissions(t, s)
	id, _ := enrollTicket(t, s, "o-cam", "obama.jpg", "single")
	waitInGallery(t, g, id)

	cam, err := camera.Open(photoFolder(t, 3, "obama2.jpg", "biden.jpg"), camera.Options{FPS: 20, Logger: quietLog()})
	if err != nil {
		t.Fatal(err)
	}
	defer cam.Close()
	if err := g.node.Run(context.Background(), cam); err != nil {
		t.Fatal(err)
	}
	events := g.pulses(t, 2)
	if !bytes.Equal(events[0].Raw, []byte{0xA0, 0x01, 0x01, 0xA2}) || !bytes.Equal(events[1].Raw, []byte{0xA0, 0x01, 0x00, 0xA1}) {
		t.Errorf("relay received % X, % X; want on then off", events[0].Raw, events[1].Raw)
	}
	got := next(2)
	if len(got) != 2 {
		t.Fatalf("ADMISSIONS got %d decisions; want 2 (the visitor, then the stranger)", len(got))
	}
	if got[0].TicketId != id || got[0].Decision != sgpb.Decision_DECISION_ALLOW || got[0].LatencyMs <= 0 {
		t.Errorf("first decision %v; want the allow of %s with a latency", got[0], id)
	}
	if got[1].TicketId != "" || got[1].Decision != sgpb.Decision_DECISION_DENY || got[1].Reason != "unknown" {
		t.Errorf("second decision %v; want the stranger denied as unknown", got[1])
	}
	if n := relayPulses(g); n != 1 {
		t.Errorf("the relay gave %d pulses; want 1 (the stranger opens nothing)", n)
	}
}
