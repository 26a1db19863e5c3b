package node

import (
	"context"
	"image"
	"math"
	"time"

	"github.com/scenicgate/scenicgate/gate/matcher"
	"github.com/scenicgate/scenicgate/models/faces"
	"github.com/scenicgate/scenicgate/proto/sgpb"
)

// A track is one visitor's approach as the lane sees it: the largest face,
// followed from frame to frame while it stays where it was and looks like
// itself. The lane decides once per track: it searches the gallery with the
// fused descriptor of the track's last frames, admits as soon as that
// search passes the policy, and refuses a face nobody matched once, when
// the track ends or has gone on for Policy.UnknownAfter. A decided track
// gets no further decision until its face leaves.
type track struct {
	box         image.Rectangle // the face in the latest frame
	first, last time.Time       // capture times of its first and latest frames
	face        []float32       // the latest frame's descriptor
	recent      [][]float32     // the last Policy.Window descriptors, oldest first
	frames      int             // frames of the face so far
	done        bool            // decided: nothing more until it leaves
	// nearest is the distance to the nearest ticket in the latest search,
	// which a refusal reports: how near a miss it was.
	nearest float32
}

// follows reports whether a face in box with descriptor face is the track's
// face: its centre inside the box it had in the track's latest frame (it
// moved by less than half a face), and as close to its latest descriptor as
// p.Threshold accepts for the same person. A different visitor stepping into
// the same place a frame later starts a track of their own. Time does not
// count here: a face in two frames the lane looked at one after the other is
// the same approach however slowly the lane got from one to the other. The
// visitor has left only when the lane has looked and not seen them for
// longer than Policy.TrackGap (faceGone).
func (t *track) follows(box image.Rectangle, face []float32, m faces.Model, p matcher.Policy) bool {
	centre := box.Min.Add(box.Max).Div(2)
	if !centre.In(t.box) {
		return false
	}
	return m.Distance(t.face, face) <= p.Threshold
}

// add puts the frame's face into the track, keeping the descriptors of the
// last window frames.
func (t *track) add(box image.Rectangle, face []float32, at time.Time, window int) {
	if t.frames == 0 {
		t.first = at
	}
	t.box, t.face, t.last = box, face, at
	t.frames++
	t.recent = append(t.recent, face)
	if len(t.recent) > window {
		t.recent = t.recent[len(t.recent)-window:]
	}
}

// follow runs a frame's face through the lane's track: it ends the track
// when the face is someone else's, starts one for the
// face, and searches with the fused descriptor of the track's recent frames
// until the track is decided. It returns the decision made, if any: a new
// track's rather than the refusal of the one it replaced, when both.
func (l *Lane) follow(ctx context.Context, box image.Rectangle, face []float32, at time.Time) (*Outcome, error) {
	n := l.n
	p := n.cfg.Policy
	var ended *Outcome
	if l.track != nil && !l.track.follows(box, face, n.model, p) {
		var err error
		if ended, err = l.endTrack(ctx, at); err != nil {
			return nil, err
		}
	}
	if l.track == nil {
		l.track = &track{}
		n.metrics.tracks.Inc()
	}
	t := l.track
	t.add(box, face, at, max(1, p.Window))
	if t.done {
		return ended, nil
	}
	fused := faces.Fuse(n.model, t.recent)
	if fused == nil {
		return ended, nil
	}
	vote, err := n.searchVote(fused)
	if err != nil {
		return ended, err
	}
	t.nearest = vote.Distance
	ticket := vote.Ticket
	switch {
	case ticket != "" && t.frames >= p.Agree:
		t.done = true
		now := n.now()
		if l.recentlyDecided(ticket, now) {
			// The same visitor, whose face the lane lost for a moment:
			// decided already.
			return ended, nil
		}
		l.decided[ticket] = now
		out, err := n.Decide(ctx, Identified{
			TicketID: ticket, Method: sgpb.Method_METHOD_FACE, Distance: vote.Distance,
			Margin: vote.Margin, Frames: len(t.recent), CapturedAt: at,
		})
		return &out, err
	case ticket == "" && t.frames >= p.Window && at.Sub(t.first) >= p.UnknownAfter:
		t.done = true
		return l.refuse(ctx, t, at)
	}
	return ended, nil
}

// faceGone is a frame without a face worth matching: the track ends once
// its face has been gone for longer than Policy.TrackGap, on the camera's
// clock.
func (l *Lane) faceGone(ctx context.Context, at time.Time) (*Outcome, error) {
	if l.track == nil || at.Sub(l.track.last) <= l.n.cfg.Policy.TrackGap {
		return nil, nil
	}
	return l.endTrack(ctx, at)
}

// endTrack ends the lane's track, at the frame captured at at, and refuses
// its face if nobody matched it over at least Policy.Window frames. A
// shorter track is a glimpse — someone passing by, a face half turned — and
// ends without a decision.
func (l *Lane) endTrack(ctx context.Context, at time.Time) (*Outcome, error) {
	t := l.track
	l.track = nil
	if t == nil || t.done || t.frames < l.n.cfg.Policy.Window {
		return nil, nil
	}
	return l.refuse(ctx, t, at)
}

// refuse records the refusal of a track's face that matched nobody.
func (l *Lane) refuse(ctx context.Context, t *track, at time.Time) (*Outcome, error) {
	dist := t.nearest
	if math.IsInf(float64(dist), 1) {
		dist = 0 // an empty gallery: nothing was near
	}
	out, err := l.n.Decide(ctx, Identified{Method: sgpb.Method_METHOD_FACE, Distance: dist, Frames: t.frames, CapturedAt: at})
	return &out, err
}

// recentlyDecided reports whether ticket was decided less than
// Policy.Cooldown ago, and forgets decisions older than that.
func (l *Lane) recentlyDecided(ticket string, now time.Time) bool {
	for k, at := range l.decided {
		if now.Sub(at) >= l.n.cfg.Policy.Cooldown {
			delete(l.decided, k)
		}
	}
	_, ok := l.decided[ticket]
	return ok
}
