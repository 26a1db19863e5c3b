package matcher

import (
	"time"
)

// Policy decides when a search result identifies someone. Its defaults were
// measured on real photos with `gate calibrate` (see docs/ARCHITECTURE.md);
// sites should calibrate on their own visitors.
type Policy struct {
	// Threshold is the largest distance accepted as the same person. dlib's
	// published 0.6 lets through far too many impostors in 1:N search, more
	// so on East-Asian faces.
	Threshold float32
	// Margin is how much farther the second-best identity must be, so that
	// two similar-looking visitors are never confused.
	Margin float32
	// Window is how many of a face's latest frames a lane fuses into the
	// descriptor it searches with (gate/node's track), and how many frames
	// a face must have been seen in before it is refused as unknown. Agree
	// is how many frames a face must have been seen in before a search may
	// admit it. The verify mode's 1:1 comparison uses them as K of N
	// (Tracker): Agree of the last Window frames must match.
	Agree, Window int
	// TrackGap is the longest a lane may look and not see a face and
	// still take it for the same visitor's approach when it is back; a
	// longer gap ends the approach, and the next face is someone new.
	TrackGap time.Duration
	// UnknownAfter is how long a lane follows a face that matches nobody
	// before it refuses it, without waiting for the visitor to leave.
	UnknownAfter time.Duration
	// MinFaceSize is the smallest face side in pixels worth matching: a
	// face far from the camera is someone still in the queue.
	MinFaceSize int
	// Cooldown is how long after a decision about a ticket the same one is
	// not decided again: a lane decides once per approach, and this keeps a
	// visitor whose approach it lost for a moment and found again from
	// being decided twice. For Tracker, an unknown face counts as a ticket.
	Cooldown time.Duration
}

// DefaultPolicy returns the defaults the gate starts with, threshold and
// margin those given: they belong to the embedding model.
func DefaultPolicy(threshold, margin float32) Policy {
	return Policy{
		Threshold:    threshold,
		Margin:       margin,
		Agree:        2,
		Window:       3,
		TrackGap:     800 * time.Millisecond,
		UnknownAfter: 2 * time.Second,
		MinFaceSize:  80,
		Cooldown:     5 * time.Second,
	}
}

// Candidate returns the ticket a single frame's search points to, or "" when
// it is not close enough or not clearly ahead of the second best.
func (p Policy) Candidate(r Result) string {
	if r.Best == "" || r.BestDistance > p.Threshold {
		return ""
	}
	if r.Second != "" && r.Margin() < p.Margin {
		return ""
	}
	return r.Best
}

// Vote is one frame's say in the Tracker.
type Vote struct {
	Ticket   string // "" for a face that matched nobody
	Distance float32
	Margin   float32
}

// Agreement is what the Tracker concluded.
type Agreement struct {
	// Ticket is the agreed ticket, or "" for an agreed unknown face.
	Ticket string
	// Frames is how many frames agreed; Distance and Margin are the best of
	// them.
	Frames           int
	Distance, Margin float32
}

// Tracker accumulates frame votes for one camera. It is not safe for
// concurrent use: one camera loop owns it.
type Tracker struct {
	p       Policy
	votes   []Vote
	decided map[string]time.Time // ticket ("" for unknown) → when last decided
}

// NewTracker returns a tracker applying p.
func NewTracker(p Policy) *Tracker {
	if p.Window < 1 {
		p.Window = 1
	}
	if p.Agree < 1 || p.Agree > p.Window {
		p.Agree = p.Window
	}
	return &Tracker{p: p, decided: map[string]time.Time{}}
}

// Add records a frame's vote and returns an agreement once Agree of the last
// Window votes name the same ticket (or all name nobody), unless that ticket
// was decided less than Cooldown ago. After an agreement the votes start
// afresh.
func (t *Tracker) Add(v Vote, now time.Time) (Agreement, bool) {
	t.votes = append(t.votes, v)
	if len(t.votes) > t.p.Window {
		t.votes = t.votes[len(t.votes)-t.p.Window:]
	}
	a := Agreement{Ticket: v.Ticket}
	for _, o := range t.votes {
		if o.Ticket != v.Ticket {
			continue
		}
		if a.Frames == 0 || o.Distance < a.Distance {
			a.Distance = o.Distance
		}
		if o.Margin > a.Margin {
			a.Margin = o.Margin
		}
		a.Frames++
	}
	need := t.p.Agree
	if v.Ticket == "" {
		// Calling someone unknown takes the whole window: a known visitor
		// half-turned for a frame must not be turned away.
		need = t.p.Window
	}
	if a.Frames < need {
		return Agreement{}, false
	}
	if last, ok := t.decided[v.Ticket]; ok && now.Sub(last) < t.p.Cooldown {
		return Agreement{}, false
	}
	t.decided[v.Ticket] = now
	t.votes = t.votes[:0]
	t.forget(now)
	return a, true
}

// Reset forgets the votes, e.g. when no face was seen for a while.
func (t *Tracker) Reset() { t.votes = t.votes[:0] }

func (t *Tracker) forget(now time.Time) {
	for k, at := range t.decided {
		if now.Sub(at) >= t.p.Cooldown {
			delete(t.decided, k)
		}
	}
}
