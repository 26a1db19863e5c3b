package node

import (
	"context"
	"errors"
	"fmt"
	"image"
	"math"
	"strings"
	"sync"
	"time"

	"gocv.io/x/gocv"

	"github.com/scenicgate/scenicgate/gate/matcher"
	"github.com/scenicgate/scenicgate/internal/qrtoken"
	"github.com/scenicgate/scenicgate/proto/sgpb"
)

// Lane is the state of one camera's stream of frames: the face it follows
// (see track), the tickets it decided lately, a QR code waiting for its face
// in verify mode, recently read codes. It is owned by the goroutine that
// reads the camera and is not safe for concurrent use.
type Lane struct {
	n     *Node
	track *track // nil while no face is followed
	// decided holds when each ticket was last decided by face or QR code,
	// for Policy.Cooldown: a visitor whose face the lane lost for a moment
	// and found again is not decided twice.
	decided map[string]time.Time
	qr      *qrReader // nil in face mode
	// verify mode: the ticket whose QR code was read, waiting for the face.
	pending     Identified
	pendingTill time.Time
	pendingVote *matcher.Tracker
	recentQR    map[string]time.Time
	// near is where the face was in the last frame, for the engine to
	// look there first (faces.Engine.LargestFaceNear), and nearFrames how
	// many frames in a row it has looked only there.
	near       image.Rectangle
	nearFrames int
}

// fullLookEvery is how often the lane looks at the whole frame although
// the face it follows is still where it was: a visitor nearer the camera
// than the one it follows is then found within this many frames.
const fullLookEvery = 10

// lookNear returns where the engine should look first in the next frame,
// or nothing for the whole frame.
func (l *Lane) lookNear() image.Rectangle {
	if l.near.Empty() || l.nearFrames >= fullLookEvery {
		l.nearFrames = 0
		return image.Rectangle{}
	}
	l.nearFrames++
	return l.near
}

// NewLane returns the frame pipeline of this node. Close it when done.
func (n *Node) NewLane() *Lane {
	l := &Lane{n: n, decided: map[string]time.Time{}, recentQR: map[string]time.Time{}}
	if n.cfg.Mode != ModeFace {
		l.qr = newQRReader(n.log)
	}
	return l
}

// Close stops the QR reader and frees it.
func (l *Lane) Close() error {
	if l.qr != nil {
		return l.qr.close()
	}
	return nil
}

// Frame runs one camera frame through the pipeline: the largest face, the
// track it belongs to, the search with the track's fused descriptor and —
// once per track — a decision; the QR reader gets the frame to look at
// beside. It returns the decision when one was made. The caller keeps frame
// and closes it. capturedAt is when the camera took the frame: the track's
// gaps and Policy.UnknownAfter are measured on it.
//
// The QR reader works on its own goroutine at its own pace, always on the
// newest frame (see qrReader), so a slow QR pass never holds up a face
// decision: a code it read is acted on when Frame is next called, or at the
// end of this call if the reader finished first. A visitor holds a code up
// for many frames, so it is acted on within a frame's time of being read.
func (l *Lane) Frame(ctx context.Context, frame gocv.Mat, capturedAt time.Time) (*Outcome, error) {
	n := l.n
	n.frames.add(n.now())
	n.metrics.frames.Inc()
	if l.qr != nil {
		l.qr.offer(frame, capturedAt)
		// A code read since the last frame decides before this frame's
		// face is looked for.
		if out, err := l.takeQR(ctx); out != nil || err != nil {
			return l.qrDecided(out), err
		}
	}
	// The largest face is the visitor at the turnstile; others are
	// queueing, and a face too small is someone still walking up.
	found, ok, err := n.engine.LargestFaceNear(ctx, frame, n.cfg.Policy.MinFaceSize, l.lookNear())
	l.near = found.Rect // empty when there is no face
	if l.qr != nil {
		if out, qerr := l.takeQR(ctx); out != nil || qerr != nil {
			return l.qrDecided(out), qerr
		}
	}
	if err != nil {
		return nil, err
	}
	// A QR code whose holder never showed a matching face in time is
	// refused even if nobody is in front of the camera any more.
	if !l.pendingTill.IsZero() && n.now().After(l.pendingTill) {
		return l.holdExpired(ctx)
	}
	if !ok {
		return l.faceGone(ctx, capturedAt)
	}
	face := found.Descriptor(n.model.Name)
	if !l.pendingTill.IsZero() {
		return l.verifyFace(ctx, face, capturedAt)
	}
	if n.cfg.Mode == ModeVerify {
		return nil, nil // faces alone open nothing here
	}
	return l.follow(ctx, found.Rect, face, capturedAt)
}

// qrDecided notes a decision made on a QR code: a ticket let in by its code
// is not decided again by its holder's face, neither in the track the lane
// follows nor within the cooldown.
func (l *Lane) qrDecided(out *Outcome) *Outcome {
	if out == nil || !out.Allow || out.Admission.GetTicketId() == "" {
		return out
	}
	l.decided[out.Admission.GetTicketId()] = l.n.now()
	if l.track != nil {
		l.track.done = true
	}
	return out
}

// searchVote searches the gallery for a frame's face (1:N) and returns the
// frame's vote: the ticket it points to under the threshold chosen for the
// gallery's size and the margin, or "" for nobody.
func (n *Node) searchVote(face []float32) (matcher.Vote, error) {
	res, err := n.gallery.Search(face)
	if err != nil {
		return matcher.Vote{}, err
	}
	policy := n.cfg.Policy
	policy.Threshold = n.searchThreshold()
	vote := matcher.Vote{Ticket: policy.Candidate(res), Distance: res.BestDistance, Margin: res.Margin()}
	if vote.Ticket == "" {
		// An unknown face is reported with its distance to the nearest
		// ticket, which tells staff how near a miss it was.
		vote.Margin = 0
		if math.IsInf(float64(vote.Distance), 1) {
			vote.Distance = 0
		}
	}
	return vote, nil
}

// takeQR acts on the codes the QR reader read and the lane has not acted on
// yet, oldest first, until one of them gives a decision.
func (l *Lane) takeQR(ctx context.Context) (*Outcome, error) {
	for {
		read, ok := l.qr.take()
		if !ok {
			return nil, nil
		}
		if out, err := l.readQR(ctx, read.text, read.capturedAt); out != nil || err != nil {
			return out, err
		}
	}
}

// readQR acts on a QR code read from a frame captured at capturedAt. A
// ticket's code is decided at once in face-or-qr mode; in verify mode it
// waits for the visitor's face (nil, nil), unless the ticket has no faces to
// compare (erased, or enrolled without), in which case the QR code alone
// decides: the way in without a face. Other codes, and a code read again
// within the cooldown, give nil, nil.
func (l *Lane) readQR(ctx context.Context, text string, capturedAt time.Time) (*Outcome, error) {
	n := l.n
	if !strings.HasPrefix(text, qrtoken.Prefix) {
		return nil, nil
	}
	now := n.now()
	if at, seen := l.recentQR[text]; seen && now.Sub(at) < n.cfg.Policy.Cooldown {
		return nil, nil
	}
	l.recentQR[text] = now
	for k, at := range l.recentQR {
		if now.Sub(at) >= n.cfg.Policy.Cooldown {
			delete(l.recentQR, k)
		}
	}
	id := Identified{Method: sgpb.Method_METHOD_QR, CapturedAt: capturedAt, Frames: 1}
	ver := n.site.Verifier()
	if ver == nil {
		n.log.Warn("a QR code was read but no verification key is known yet")
		out, err := n.Decide(ctx, id)
		return &out, err
	}
	claims, err := ver.Verify(text, now)
	if err != nil && !errors.Is(err, qrtoken.ErrExpired) {
		out, err := n.decideBadQR(ctx, id)
		return &out, err
	}
	// An expired token still names its ticket; the rules then say "expired".
	id.TicketID, id.TokenID = claims.TicketID, claims.TokenID
	e, ok := n.mirror.Summary(claims.TicketID)
	if n.cfg.Mode == ModeVerify && ok && e.Faces > 0 {
		if held, _ := n.gallery.Has(claims.TicketID); held {
			id.Method = sgpb.Method_METHOD_VERIFY
			l.pending, l.pendingTill = id, now.Add(n.cfg.QRHold)
			l.pendingVote = matcher.NewTracker(matcher.Policy{Agree: n.cfg.Policy.Agree, Window: n.cfg.Policy.Window})
			return nil, nil
		}
		// Faces from other models only: enrolled before the site added
		// this gate's model. The face cannot be checked, so the QR code
		// decides alone, as for a ticket enrolled without a face, and
		// the admission says why.
		n.log.Warn("ticket has no face descriptor for this gate's model; its QR code alone decides",
			"ticket", claims.TicketID, "model", n.model.Name)
		id.Note = noModelNote(n.model.Name)
	}
	out, err := n.Decide(ctx, id)
	return &out, err
}

func (n *Node) decideBadQR(ctx context.Context, id Identified) (Outcome, error) {
	out := Outcome{Reason: ReasonBadQR}
	now := n.now()
	out.Admission = n.admission(id, out, now)
	return out, n.record(ctx, out.Admission, "", n.siteRules().Day(now).String(), out)
}

// holdExpired ends the wait for the face of a QR code's holder with a
// denial.
func (l *Lane) holdExpired(ctx context.Context) (*Outcome, error) {
	n := l.n
	now := n.now()
	id := l.pending
	l.pendingTill = time.Time{}
	out := Outcome{Reason: ReasonFaceMismatch}
	out.Admission = n.admission(id, out, now)
	return &out, n.record(ctx, out.Admission, id.TicketID, n.siteRules().Day(now).String(), out)
}

// verifyFace compares the live face with the faces of the ticket whose QR
// code was shown (1:1), until the frames agree or the hold runs out.
func (l *Lane) verifyFace(ctx context.Context, face []float32, capturedAt time.Time) (*Outcome, error) {
	n := l.n
	now := n.now()
	id := l.pending
	if now.After(l.pendingTill) {
		return l.holdExpired(ctx)
	}
	dist, ok, err := n.gallery.Compare(id.TicketID, face)
	if err != nil {
		return nil, err
	}
	if !ok {
		// Revoked or erased while its holder stood at the gate: the
		// rules decide.
		l.pendingTill = time.Time{}
		out, err := n.Decide(ctx, id)
		return &out, err
	}
	vote := matcher.Vote{Distance: dist}
	if dist <= n.cfg.Policy.Threshold {
		vote.Ticket = id.TicketID
	}
	agreed, ok := l.pendingVote.Add(vote, now)
	if !ok || agreed.Ticket == "" {
		return nil, nil // a mismatching frame does not end the hold; time does
	}
	l.pendingTill = time.Time{}
	id.Distance, id.Frames, id.CapturedAt = agreed.Distance, agreed.Frames, capturedAt
	out, err := n.Decide(ctx, id)
	return &out, err
}

// noModelNote is the admission note for a ticket admitted by QR code alone
// because it has no face descriptor from the gate's model.
func noModelNote(model string) string {
	return fmt.Sprintf("no %s face descriptor (enrolled before the site added the model): QR code alone", model)
}

// frameStats measures the frame rate the pipeline keeps up with.
type frameStats struct {
	mu    sync.Mutex
	times []time.Time // processing times within the last few seconds
	last  time.Time
	fault string // the camera's complaint, "" while it delivers
}

type frameSnapshot struct {
	fps   float64
	last  time.Time
	fault string
}

func (f *frameStats) add(now time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.last = now
	f.times = append(f.times, now)
	cut := 0
	for cut < len(f.times) && now.Sub(f.times[cut]) > 5*time.Second {
		cut++
	}
	f.times = f.times[cut:]
}

func (f *frameStats) setFault(msg string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fault = msg
}

func (f *frameStats) snapshot(now time.Time) frameSnapshot {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := frameSnapshot{last: f.last, fault: f.fault}
	if n := len(f.times); n > 1 {
		if span := f.times[n-1].Sub(f.times[0]).Seconds(); span > 0 {
			s.fps = float64(n-1) / span
		}
	}
	return s
}
