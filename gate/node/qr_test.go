package node

import (
	"context"
	"image"
	"testing"
	"time"

	"github.com/skip2/go-qrcode"
	"gocv.io/x/gocv"

	"github.com/scenicgate/scenicgate/enroll/service"
	"github.com/scenicgate/scenicgate/internal/qrtoken"
	"github.com/scenicgate/scenicgate/proto/sgpb"
)

// qrFrame renders text as a QR code held up to a 640x480 camera.
func qrFrame(t testing.TB, text string) gocv.Mat {
	png, err := qrcode.Encode(text, qrcode.Medium, 360)
	if err != nil {
		t.Fatal(err)
	}
	code, err := gocv.IMDecode(png, gocv.IMReadColor)
	if err != nil {
		t.Fatal(err)
	}
	defer code.Close()
	frame := gocv.NewMatWithSizeFromScalar(gocv.NewScalar(200, 200, 200, 0), 480, 640, gocv.MatTypeCV8UC3)
	roi := frame.Region(imageRect(140, 60, 360))
	code.CopyTo(&roi)
	roi.Close()
	t.Cleanup(func() { frame.Close() })
	return frame
}

// showQR holds a QR code up to the lane as a visitor does: a frame with the
// code, then, once the lane's QR reader has looked at it, a frame without,
// at which the lane acts on what was read (the reader runs beside the face
// engine and is never waited for). It returns the decision, nil when there
// was none: in verify mode a ticket's code waits for the face.
func showQR(t testing.TB, l *Lane, text string) *Outcome {
	t.Helper()
	ctx := context.Background()
	out, err := l.Frame(ctx, qrFrame(t, text), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if out != nil {
		return out
	}
	l.qr.settle()
	blank := gocv.NewMatWithSizeFromScalar(gocv.NewScalar(200, 200, 200, 0), 480, 640, gocv.MatTypeCV8UC3)
	defer blank.Close()
	if out, err = l.Frame(ctx, blank, time.Now()); err != nil {
		t.Fatal(err)
	}
	return out
}

func waitForQRKey(t testing.TB, l *lane) {
	eventually(t, waitLimit, "QR key reaches the gate", func() bool { return l.node.site.Verifier() != nil })
}

func TestQRAloneIsTheWayInWithoutAFace(t *testing.T) {
	s := startSite(t)
	g := startGate(t, s, "qr-1", func(c *Config) { c.Mode = ModeFaceOrQR })
	waitForQRKey(t, g)
	// A visitor who gave no photo at all.
	id, token := enrollTicket(t, s, "o-qr", "", "single")
	eventually(t, waitLimit, "ticket reaches the gate", func() bool { return held(g.node, id) })

	l := g.node.NewLane()
	defer l.Close()
	out := showQR(t, l, token)
	if out == nil || !out.Allow || out.Admission.Method != sgpb.Method_METHOD_QR || out.Admission.TicketId != id {
		t.Fatalf("QR of a valid ticket: %+v; want allow by QR", out)
	}
	g.pulses(t, 2)

	// A forged token (valid prefix, broken signature) opens nothing.
	forged := token[:len(token)-3] + "AAA"
	if forged == token {
		forged = token[:len(token)-3] + "BBB"
	}
	if out := showQR(t, l, forged); out == nil || out.Allow || out.Reason != ReasonBadQR {
		t.Fatalf("forged QR: %+v; want deny %s", out, ReasonBadQR)
	}
}

func TestVerifyModeComparesTheFaceWithTheQRTicket(t *testing.T) {
	s := startSite(t)
	g := startGate(t, s, "verify-1", func(c *Config) {
		c.Mode = ModeVerify
		// The hold must outlast the frames it takes to agree on the face,
		// however slowly a loaded machine finds faces; how a hold ends is
		// TestVerifyHoldEndsInADenial's subject.
		c.QRHold = waitLimit
		c.Policy.Cooldown = time.Second
	})
	waitForQRKey(t, g)
	id, token := enrollTicket(t, s, "o-verify", "obama.jpg", "day_pass")
	waitInGallery(t, g, id)
	l := g.node.NewLane()
	defer l.Close()
	ctx := context.Background()

	// QR, then the right face: admitted, verified 1:1.
	if out := showQR(t, l, token); out != nil || l.pendingTill.IsZero() {
		t.Fatalf("QR alone in verify mode: %+v; want to wait for the face", out)
	}
	start := time.Now()
	out := show(t, l, "obama2.jpg", 5)
	if out == nil || !out.Allow || out.Admission.Method != sgpb.Method_METHOD_VERIFY {
		t.Fatalf("QR then the ticket holder's face: %+v; want allow by verify", out)
	}
	t.Logf("the face was verified %v after the QR code", time.Since(start).Round(time.Millisecond))

	// A face alone opens nothing in verify mode.
	if out := show(t, l, "obama3.jpg", 4); out != nil {
		t.Fatalf("a face without QR in verify mode: %+v; want no decision", out)
	}

	// After the visitor erased their face data, the QR code alone admits.
	if _, err := s.enroll.Service().EraseBiometrics(ctx, service.System("test"), id, "visitor asked"); err != nil {
		t.Fatal(err)
	}
	eventually(t, waitLimit, "erasure reaches the gate", func() bool {
		e := entitlement(t, g.node, id)
		return e != nil && len(e.Faces) == 0
	})
	time.Sleep(g.node.cfg.Policy.Cooldown)
	if out := showQR(t, l, token); out == nil || !out.Allow || out.Admission.Method != sgpb.Method_METHOD_QR {
		t.Fatalf("QR of a ticket without faces in verify mode: %+v; want allow by QR", out)
	}
}

func imageRect(x, y, size int) image.Rectangle { return image.Rect(x, y, x+size, y+size) }

// TestVerifyHoldEndsInADenial shows a ticket's QR code in verify mode and
// then no face, or someone else's: the hold runs out and the gate denies
// with face_mismatch. Only the end of the hold is waited for, so a slow
// machine makes the test slower, never wrong.
func TestVerifyHoldEndsInADenial(t *testing.T) {
	s := startSite(t)
	g := startGate(t, s, "verify-2", func(c *Config) {
		c.Mode = ModeVerify
		c.QRHold = 300 * time.Millisecond
	})
	waitForQRKey(t, g)
	id, token := enrollTicket(t, s, "o-hold", "obama.jpg", "day_pass")
	waitInGallery(t, g, id)
	empty := gocv.NewMatWithSizeFromScalar(gocv.NewScalar(90, 90, 90, 0), 480, 640, gocv.MatTypeCV8UC3)
	defer empty.Close()
	tests := []struct {
		name  string
		frame gocv.Mat
	}{
		{"nobody in view", empty},
		{"someone else in view", frame(t, "biden.jpg")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := g.node.NewLane() // a lane of its own: no QR code read before
			defer l.Close()
			ctx := context.Background()
			start := time.Now() // before the hold begins
			if out := showQR(t, l, token); out != nil || l.pendingTill.IsZero() {
				t.Fatalf("QR in verify mode: %+v; want to wait for the face", out)
			}
			var out *Outcome
			for out == nil && time.Since(start) < waitLimit {
				var err error
				if out, err = l.Frame(ctx, tc.frame, time.Now()); err != nil {
					t.Fatal(err)
				}
			}
			if out == nil || out.Allow || out.Reason != ReasonFaceMismatch || out.Admission.TicketId != id {
				t.Fatalf("hold over with %s: %+v; want deny %s for %s", tc.name, out, ReasonFaceMismatch, id)
			}
			if held := time.Since(start); held < g.node.cfg.QRHold {
				t.Errorf("denied %v after the QR code; want only once the %v hold is over", held, g.node.cfg.QRHold)
			}
			t.Logf("denied %v after the QR code", time.Since(start).Round(time.Millisecond))
		})
	}
	if n := relayPulses(g); n != 0 {
		t.Errorf("the relay gave %d pulses; want none", n)
	}
}

// TestRetiredQRTokenIsRefused shows a gate a QR code that is correctly
// signed and not expired but carries a token id the ticket no longer has,
// as a re-issued ticket's old code does: it is refused with invalid_qr.
// The token is signed here with enroll's own key, since the API cannot
// re-issue a code yet.
func TestRetiredQRTokenIsRefused(t *testing.T) {
	s := startSite(t)
	g := startGate(t, s, "qr-retired", func(c *Config) { c.Mode = ModeFaceOrQR })
	waitForQRKey(t, g)
	id, current := enrollTicket(t, s, "o-retired", "", "single")
	eventually(t, waitLimit, "ticket reaches the gate", func() bool { return held(g.node, id) })

	e := entitlement(t, g.node, id)
	retired, err := s.enroll.Keys().Sign(qrtoken.Claims{TicketID: id, TokenID: qrtoken.NewTokenID(),
		IssuedAt: time.Now().Add(-time.Hour), Expires: time.UnixMilli(e.ValidUntilMs)})
	if err != nil {
		t.Fatal(err)
	}
	// The gate itself finds nothing wrong with the token but its id.
	claims, err := g.node.site.Verifier().Verify(retired, time.Now())
	if err != nil || claims.TicketID != id || claims.TokenID == e.QrTokenId {
		t.Fatalf("Verify(retired token) = %+v, %v; want a valid token of %s with another token id", claims, err, id)
	}

	l := g.node.NewLane()
	defer l.Close()
	out := showQR(t, l, retired)
	if out == nil || out.Allow || out.Reason != ReasonBadQR || out.Admission.TicketId != id {
		t.Fatalf("signed QR code with a retired token id: %+v; want deny %s for %s", out, ReasonBadQR, id)
	}
	if n := relayPulses(g); n != 0 {
		t.Errorf("the relay gave %d pulses for the retired code; want none", n)
	}
	// The ticket's current code still admits: the refusal was the token id's.
	if out := showQR(t, l, current); out == nil || !out.Allow || out.Admission.Method != sgpb.Method_METHOD_QR {
		t.Fatalf("the ticket's current QR code: %+v; want allow by QR", out)
	}
}
