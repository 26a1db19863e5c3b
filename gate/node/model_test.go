package node

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/scenicgate/scenicgate/internal/bus/bustest"
	"github.com/scenicgate/scenicgate/internal/testenv"
	"github.com/scenicgate/scenicgate/models/faces"
	"github.com/scenicgate/scenicgate/proto/sgpb"
)

// startDlibOnlySite runs enroll describing faces with dlib alone, as a site
// did before it added another model.
func startDlibOnlySite(t *testing.T) *site {
	t.Helper()
	dlibOnly, err := faces.Open(faces.Config{ModelDir: testenv.ModelDir(t), Models: []string{faces.Dlib}, Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dlibOnly.Close() })
	return startSiteWith(t, bustest.Embedded(t), dlibOnly)
}

// TestTicketWithoutTheGatesModel enrolls a visitor with dlib descriptors
// only and sends them to gates that match with MobileFaceNet: the face
// gate cannot recognise them and says how many such tickets it holds; the
// verify gate lets them in by QR code alone and says why.
func TestTicketWithoutTheGatesModel(t *testing.T) {
	s := startDlibOnlySite(t)
	faceGate := startGate(t, s, "mfn-face", func(c *Config) {
		c.FaceModel = faces.MobileFaceNet
		c.Mode = ModeFaceOrQR
	})
	verifyGate := startGate(t, s, "mfn-verify", func(c *Config) {
		c.FaceModel = faces.MobileFaceNet
		c.Mode = ModeVerify
	})
	dlibGate := startGate(t, s, "dlib-face", func(c *Config) { c.FaceModel = faces.Dlib })
	waitForQRKey(t, verifyGate)
	id, token := enrollTicket(t, s, "o-old-model", "obama.jpg", "day_pass")
	for _, g := range []*lane{faceGate, verifyGate} {
		eventually(t, 10*time.Second, "ticket reaches "+g.node.cfg.ID, func() bool { return held(g.node, id) })
		if searched(g.node, id) {
			t.Errorf("%s searches a ticket without a %s descriptor", g.node.cfg.ID, faces.MobileFaceNet)
		}
		st := g.node.Status(context.Background())
		if st.FaceModel != faces.MobileFaceNet || st.TicketsWithoutModel != 1 {
			t.Errorf("%s status: model %q, %d tickets without it; want %s and 1", g.node.cfg.ID, st.FaceModel, st.TicketsWithoutModel, faces.MobileFaceNet)
		}
	}
	// The dlib gate still recognises the visitor: the ticket itself is fine.
	waitInGallery(t, dlibGate, id)
	dl := dlibGate.node.NewLane()
	defer dl.Close()
	if out := show(t, dl, "obama2.jpg", 5); out == nil || !out.Allow || out.Admission.TicketId != id || out.Admission.FaceModel != faces.Dlib {
		t.Fatalf("dlib gate: %+v; want the visitor admitted by face, model dlib", out)
	}

	// At the MobileFaceNet face gate the same face is a stranger.
	fl := faceGate.node.NewLane()
	defer fl.Close()
	out := show(t, fl, "obama2.jpg", 5)
	if out == nil || out.Allow || out.Admission.TicketId != "" || out.Admission.FaceModel != faces.MobileFaceNet {
		t.Fatalf("MobileFaceNet gate: %+v; want an unknown face, model mobilefacenet", out)
	}

	// At the verify gate the QR code decides alone, and says why.
	vl := verifyGate.node.NewLane()
	defer vl.Close()
	out = showQR(t, vl, token)
	if out == nil || !out.Allow || out.Admission.Method != sgpb.Method_METHOD_QR || out.Admission.TicketId != id {
		t.Fatalf("verify gate, QR of a ticket without a %s face: %+v; want allow by QR", faces.MobileFaceNet, out)
	}
	if !strings.Contains(out.Admission.Note, faces.MobileFaceNet) {
		t.Errorf("admission note %q; want it to name the missing model", out.Admission.Note)
	}
	verifyGate.pulses(t, 2)
}
