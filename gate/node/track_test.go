package node

import (
	"context"
	"testing"
	"time"

	"gocv.io/x/gocv"

	"github.com/scenicgate/scenicgate/internal/rules"
	"github.com/scenicgate/scenicgate/internal/scene"
	"github.com/scenicgate/scenicgate/internal/testenv"
)

// approachFrames makes camera-like 1280x720 frames of one lane: nobody in
// it, or a visitor from a test photo with their face a third of the frame
// high, always at the same place, so that a visitor replaced by another
// leaves the box where it was.
type approachFrames struct {
	t     *testing.T
	scene *scene.Scene
	seed  uint64
	empty gocv.Mat
}

func newApproachFrames(t *testing.T) *approachFrames {
	f := &approachFrames{t: t, scene: scene.New(1280, 720, 1), seed: 1}
	f.empty = f.scene.Empty(f.seed)
	t.Cleanup(func() { f.empty.Close() })
	return f
}

// visitor returns n frames of photo's face, each with noise of its own.
func (f *approachFrames) visitor(photo string, n int) []gocv.Mat {
	t := f.t
	t.Helper()
	m := gocv.IMRead(testenv.PhotoPath(t, photo), gocv.IMReadColor)
	defer m.Close()
	found, err := engine.DetectMat(context.Background(), m)
	if err != nil || len(found) != 1 {
		t.Fatalf("DetectMat(%s) = %d faces, %v; want 1", photo, len(found), err)
	}
	var frames []gocv.Mat
	for range n {
		f.seed++
		v, err := f.scene.Visitor(m, found[0].Rect, 720/3, f.seed)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { v.Close() })
		frames = append(frames, v)
	}
	return frames
}

// nobody returns n frames of the empty lane.
func (f *approachFrames) nobody(n int) []gocv.Mat {
	frames := make([]gocv.Mat, n)
	for i := range frames {
		frames[i] = f.empty
	}
	return frames
}

// cameraFeed plays frames through a lane as a 10 fps camera would deliver
// them: each frame captured 100 ms after the one before, on the camera's
// clock, however long the lane takes over it. Tracks are timed on that
// clock, so the tests do not depend on the machine's speed.
type cameraFeed struct {
	t         *testing.T
	lane      *Lane
	at        time.Time
	decisions []*Outcome
}

const feedPeriod = 100 * time.Millisecond

func newCameraFeed(t *testing.T, l *Lane) *cameraFeed {
	return &cameraFeed{t: t, lane: l, at: time.Now()}
}

func (c *cameraFeed) play(frames ...[]gocv.Mat) {
	c.t.Helper()
	for _, part := range frames {
		for _, m := range part {
			out, err := c.lane.Frame(context.Background(), m, c.at)
			if err != nil {
				c.t.Fatal(err)
			}
			if out != nil {
				c.decisions = append(c.decisions, out)
			}
			c.at = c.at.Add(feedPeriod)
		}
	}
}

// framesFor is how many frames of the feed span d.
func framesFor(d time.Duration) int { return int(d/feedPeriod) + 1 }

// trackGate starts a gate for the track tests with a day pass for the
// visitor in obama.jpg and no cooldown, so that only the track keeps the
// lane from deciding about a visitor twice.
func trackGate(t *testing.T, id string) (*lane, string) {
	s := startSite(t)
	g := startGate(t, s, id, func(c *Config) { c.Policy.Cooldown = 0 })
	ticket, _ := enrollTicket(t, s, "o-"+id, "obama.jpg", "day_pass")
	waitInGallery(t, g, ticket)
	return g, ticket
}

// describe lists decisions for a failure message.
func describe(outs []*Outcome) []string {
	var s []string
	for _, o := range outs {
		s = append(s, o.Admission.GetTicketId()+":"+string(o.Reason))
	}
	return s
}

func TestTrackDecidesOncePerApproach(t *testing.T) {
	g, ticket := trackGate(t, "track-1")
	p := g.node.cfg.Policy
	f := newApproachFrames(t)
	long := framesFor(p.UnknownAfter) + 5 // past the time a stranger is refused in
	gone := framesFor(p.TrackGap) + 1
	lost := framesFor(p.TrackGap) - 3 // a face lost for less than the gap
	if lost < 1 {
		t.Fatalf("TrackGap %v is too short for a %v camera to lose a face within it", p.TrackGap, feedPeriod)
	}

	t.Run("visitor", func(t *testing.T) {
		l := g.node.NewLane()
		defer l.Close()
		c := newCameraFeed(t, l)
		// The visitor stands there, turns away for a moment, and goes.
		c.play(f.visitor("obama2.jpg", long), f.nobody(lost), f.visitor("obama2.jpg", long), f.nobody(gone))
		if len(c.decisions) != 1 || !c.decisions[0].Allow || c.decisions[0].Admission.TicketId != ticket {
			t.Fatalf("decisions %v over one approach of %d frames; want one admission of %s", describe(c.decisions), 2*long+lost, ticket)
		}
		if n := relayPulses(g); n != 1 {
			t.Errorf("the relay gave %d pulses; want 1", n)
		}
	})
	t.Run("stranger", func(t *testing.T) {
		l := g.node.NewLane()
		defer l.Close()
		c := newCameraFeed(t, l)
		c.play(f.visitor("biden.jpg", long), f.nobody(gone))
		if len(c.decisions) != 1 || c.decisions[0].Allow || c.decisions[0].Reason != rules.Unknown {
			t.Fatalf("decisions %v for a stranger over %d frames; want one refusal as unknown", describe(c.decisions), long)
		}
		// Refused once UnknownAfter had passed, not when leaving.
		if got := c.decisions[0].Admission.Frames; int(got) >= long {
			t.Errorf("the refusal came after %d frames; want it after UnknownAfter %v, well within the %d frames", got, p.UnknownAfter, long)
		}
	})
	t.Run("stranger passing by", func(t *testing.T) {
		l := g.node.NewLane()
		defer l.Close()
		c := newCameraFeed(t, l)
		// Refused when the track ends, before UnknownAfter.
		c.play(f.visitor("biden.jpg", p.Window), f.nobody(gone))
		if len(c.decisions) != 1 || c.decisions[0].Allow || c.decisions[0].Reason != rules.Unknown {
			t.Fatalf("decisions %v for a stranger in %d frames; want one refusal as unknown when the face left", describe(c.decisions), p.Window)
		}
	})
}

func TestTrackEndsWithAGapOrAnotherFace(t *testing.T) {
	g, ticket := trackGate(t, "track-2")
	p := g.node.cfg.Policy
	f := newApproachFrames(t)
	stay := framesFor(p.UnknownAfter) / 2 // shorter than UnknownAfter
	gone := framesFor(p.TrackGap) + 1
	admitted := func(o *Outcome) bool { return o.Allow && o.Admission.TicketId == ticket }
	refused := func(o *Outcome) bool { return !o.Allow && o.Reason == rules.Unknown }

	for _, tc := range []struct {
		name   string
		frames [][]gocv.Mat
		want   []func(*Outcome) bool
	}{
		{"the visitor twice, after a gap", [][]gocv.Mat{f.visitor("obama2.jpg", stay), f.nobody(gone), f.visitor("obama3.jpg", stay), f.nobody(gone)},
			[]func(*Outcome) bool{admitted, admitted}},
		{"the visitor, then a stranger after a gap", [][]gocv.Mat{f.visitor("obama2.jpg", stay), f.nobody(gone), f.visitor("biden.jpg", stay), f.nobody(gone)},
			[]func(*Outcome) bool{admitted, refused}},
		{"a stranger in the visitor's place the next frame", [][]gocv.Mat{f.visitor("obama2.jpg", stay), f.visitor("biden.jpg", stay), f.nobody(gone)},
			[]func(*Outcome) bool{admitted, refused}},
		{"the visitor in a stranger's place the next frame", [][]gocv.Mat{f.visitor("biden.jpg", stay), f.visitor("obama2.jpg", stay), f.nobody(gone)},
			[]func(*Outcome) bool{refused, admitted}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := g.node.NewLane()
			defer l.Close()
			c := newCameraFeed(t, l)
			c.play(tc.frames...)
			ok := len(c.decisions) == len(tc.want)
			for i := 0; ok && i < len(tc.want); i++ {
				ok = tc.want[i](c.decisions[i])
			}
			if !ok {
				t.Fatalf("decisions %v; want %d, one per face", describe(c.decisions), len(tc.want))
			}
		})
	}
}
