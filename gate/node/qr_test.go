package node

import (
	"context"
	"image"
	"testing"
	"time"

	"github.com/skip2/go-qrcode"
	"gocv.io/x/gocv"

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

func waitForQRKey(t testing.TB, l *lane) {
	eventually(t, 10*time.Second, "QR key reaches the gate", func() bool { return l.node.site.Verifier() != nil })
}

func TestQRAloneIsTheWayInWithoutAFace(t *testing.T) {
	s := startSite(t)
	g := startGate(t, s, "qr-1", func(c *Config) { c.Mode = ModeFaceOrQR })
	waitForQRKey(t, g)
	// A visitor who gave no photo at all.
	id, token := enrollTicket(t, s, "o-qr", "", "single")
	eventually(t, 10*time.Second, "ticket reaches the gate", func() bool { return held(g.node, id) })

	l := g.node.NewLane()
	defer l.Close()
	ctx := context.Background()
	out, err := l.Frame(ctx, qrFrame(t, token), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if out == nil || !out.Allow || out.Admission.Method != sgpb.Method_METHOD_QR || out.Admission.TicketId != id {
		t.Fatalf("QR of a valid ticket: %+v; want allow by QR", out)
	}
	g.pulses(t, 2)

	// A forged token (valid prefix, broken signature) opens nothing.
	forged := token[:len(token)-3] + "AAA"
	if forged == token {
		forged = token[:len(token)-3] + "BBB"
	}
	out, err = l.Frame(ctx, qrFrame(t, forged), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if out == nil || out.Allow || out.Reason != ReasonBadQR {
		t.Fatalf("forged QR: %+v; want deny %s", out, ReasonBadQR)
	}
}

func TestVerifyModeComparesTheFaceWithTheQRTicket(t *testing.T) {
	s := startSite(t)
	g := startGate(t, s, "verify-1", func(c *Config) {
		c.Mode = ModeVerify
		c.QRHold = 2 * time.Second
		c.Policy.Cooldown = time.Second
	})
	waitForQRKey(t, g)
	id, token := enrollTicket(t, s, "o-verify", "obama.jpg", "day_pass")
	waitInGallery(t, g, id)
	l := g.node.NewLane()
	defer l.Close()
	ctx := context.Background()

	// QR, then the right face: admitted, verified 1:1.
	if out, err := l.Frame(ctx, qrFrame(t, token), time.Now()); err != nil || out != nil {
		t.Fatalf("QR alone in verify mode: %+v, %v; want to wait for the face", out, err)
	}
	out := show(t, l, "obama2.jpg", 5)
	if out == nil || !out.Allow || out.Admission.Method != sgpb.Method_METHOD_VERIFY {
		t.Fatalf("QR then the ticket holder's face: %+v; want allow by verify", out)
	}

	// A face alone opens nothing in verify mode.
	if out := show(t, l, "obama3.jpg", 4); out != nil {
		t.Fatalf("a face without QR in verify mode: %+v; want no decision", out)
	}

	// Someone else holding the ticket's QR code: denied when the hold ends.
	time.Sleep(g.node.cfg.Policy.Cooldown) // the same QR code is not read twice within the cooldown
	if _, err := l.Frame(ctx, qrFrame(t, token), time.Now()); err != nil {
		t.Fatal(err)
	}
	stranger := frame(t, "biden.jpg")
	deadline := time.Now().Add(4 * time.Second)
	for out = nil; out == nil && time.Now().Before(deadline); {
		if out, _ = l.Frame(ctx, stranger, time.Now()); out == nil {
			time.Sleep(100 * time.Millisecond)
		}
	}
	if out == nil || out.Allow || out.Reason != ReasonFaceMismatch {
		t.Fatalf("another face with the ticket's QR: %+v; want deny %s", out, ReasonFaceMismatch)
	}

	// After the visitor erased their face data, the QR code alone admits.
	if _, err := s.enroll.Service().EraseBiometrics(ctx, "test", id, "visitor asked"); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "erasure reaches the gate", func() bool {
		e := entitlement(t, g.node, id)
		return e != nil && len(e.Faces) == 0
	})
	time.Sleep(g.node.cfg.Policy.Cooldown)
	out, err := l.Frame(ctx, qrFrame(t, token), time.Now())
	if err != nil || out == nil || !out.Allow || out.Admission.Method != sgpb.Method_METHOD_QR {
		t.Fatalf("QR of a ticket without faces in verify mode: %+v, %v; want allow by QR", out, err)
	}
}

func imageRect(x, y, size int) image.Rectangle { return image.Rect(x, y, x+size, y+size) }

func TestVerifyHoldEndsWhenNoFaceComes(t *testing.T) {
	s := startSite(t)
	g := startGate(t, s, "verify-2", func(c *Config) {
		c.Mode = ModeVerify
		c.QRHold = 300 * time.Millisecond
	})
	waitForQRKey(t, g)
	id, token := enrollTicket(t, s, "o-hold", "obama.jpg", "day_pass")
	waitInGallery(t, g, id)
	l := g.node.NewLane()
	defer l.Close()
	ctx := context.Background()
	if out, err := l.Frame(ctx, qrFrame(t, token), time.Now()); err != nil || out != nil {
		t.Fatalf("QR in verify mode: %+v, %v; want to wait for the face", out, err)
	}
	empty := gocv.NewMatWithSizeFromScalar(gocv.NewScalar(90, 90, 90, 0), 480, 640, gocv.MatTypeCV8UC3)
	defer empty.Close()
	time.Sleep(400 * time.Millisecond)
	out, err := l.Frame(ctx, empty, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if out == nil || out.Allow || out.Reason != ReasonFaceMismatch || out.Admission.TicketId != id {
		t.Fatalf("hold over with nobody in view: %+v; want deny %s for %s", out, ReasonFaceMismatch, id)
	}
}
