package node

import (
	"context"
	"fmt"
	"image"
	"math"
	"slices"
	"sync"
	"testing"
	"time"

	"gocv.io/x/gocv"

	"github.com/scenicgate/scenicgate/enroll/service"
	"github.com/scenicgate/scenicgate/hardware/camera"
	"github.com/scenicgate/scenicgate/internal/rules"
	"github.com/scenicgate/scenicgate/internal/scene"
	"github.com/scenicgate/scenicgate/internal/testenv"
	"github.com/scenicgate/scenicgate/models/faces"
	"github.com/scenicgate/scenicgate/proto/sgpb"
)

// Time to open: what a visitor feels.
const (
	// cameraFPS is the rate the recorded camera plays at, on its own
	// clock, whether or not the lane keeps up.
	cameraFPS = 15
	// walkFrames is how many frames the visitor takes to walk up: the
	// face grows from a quarter of its full size to full size in about a
	// second.
	walkFrames = 15
	// idleFrames of nobody in front of the camera come before each
	// approach.
	idleFrames = 15
	// approachGallery is the number of tickets with faces the gate
	// searches besides the visitor's.
	approachGallery = 100_000
	// holdLimit is how long a visitor stands at full size before the
	// approach counts as one that did not open.
	holdLimit = 5 * time.Second
)

// approachPhotos are the photos the visitor walks up as, in turn; the
// ticket was enrolled with obama.jpg.
var approachPhotos = []string{"obama2.jpg", "obama3.jpg"}

// BenchmarkTimeToOpen measures the time from the first camera frame in
// which the visitor's face is large enough (--min-face) to the relay's "on"
// command arriving on the relay simulator's pseudo-terminal, through the
// whole lane as the gate program runs it: a camera that plays at 15 fps and
// keeps only its newest frame, the QR reader and the face engine, the search
// of a gallery of 100,000 tickets, K-of-N agreement (2 of 3), the ticket
// rules, the claim of the entry in NATS (a multi-entry ticket) and the
// relay. Each iteration is one approach: a second of nobody, then the
// visitor walking up over a second (camera-like frames made from the test
// photos, the face growing from a quarter of its full size to a third of
// the frame's height), then standing until the turnstile opens; the lane
// runs with the gate's defaults (face-or-qr mode, one face worker, --min-face
// 160 at 1280x720 and the README's 80 at 640x480), but a cooldown of 1 s so
// that the same visitor can come again after 2 s. Run it
// with -benchtime 30x or more.
//
// Besides the percentiles it reports frames/s (frames the lane processed
// per second while the camera played at 15), dropped-% (camera frames the
// lane was too busy for) and lane-ms (the lane's mean time per frame), at
// 640x480 and 1280x720, with the default model and with dlib.
func BenchmarkTimeToOpen(b *testing.B) {
	for _, model := range []string{faces.DefaultModel, faces.Dlib} {
		b.Run("model="+model, func(b *testing.B) {
			s := startSite(b)
			g := startGateWith(b, s, "open-1", gateEngine(b, model), func(c *Config) {
				c.FaceModel = model
				c.Policy.Cooldown = time.Second
			})
			id := enrollMulti(b, s, "o-open", "obama.jpg")
			waitInGallery(b, g, id)
			fillGallery(b, s, g.node, id, approachGallery)
			for _, size := range []image.Point{{640, 480}, {1280, 720}} {
				// --min-face as the README advises for each frame size:
				// the default for 1280x720, 80 for 640x480.
				g.node.cfg.Policy.MinFaceSize = DefaultMinFace * size.X / DefaultConfig().CameraWidth
				b.Run(fmt.Sprintf("%dx%d", size.X, size.Y), func(b *testing.B) { benchmarkTimeToOpen(b, g, id, size) })
			}
		})
	}
}

func benchmarkTimeToOpen(b *testing.B, g *lane, id string, size image.Point) {
	cam := newApproachCamera(b, size, g.node.cfg.Policy.MinFaceSize)
	defer cam.close()
	var mu sync.Mutex
	var decisions []*sgpb.Admission
	g.node.Observe(func(a *sgpb.Admission) {
		mu.Lock()
		decisions = append(decisions, a)
		mu.Unlock()
	})
	ctx, cancel := context.WithCancel(context.Background())
	running := make(chan error, 1)
	go func() { running <- g.node.Run(ctx, cam) }()
	defer func() {
		cancel()
		if err := <-running; err != nil {
			b.Error(err)
		}
	}()

	// One approach to warm the lane up, as a lane at work is.
	cam.approach(b, g, 0)
	var lat []float64
	missed := 0
	cam.startCounting()
	i := 0
	for b.Loop() {
		i++
		if ms, ok := cam.approach(b, g, i); ok {
			lat = append(lat, ms)
		} else {
			missed++
		}
	}
	st := cam.counts()
	mu.Lock()
	for _, a := range decisions {
		if a.Decision == sgpb.Decision_DECISION_ALLOW && a.TicketId != id {
			b.Fatalf("the gate admitted ticket %s; only %s walked up", a.TicketId, id)
		}
	}
	mu.Unlock()
	if len(lat) > 0 {
		slices.Sort(lat)
		q := func(p float64) float64 { return lat[int(math.Ceil(p*float64(len(lat)))-1)] }
		b.ReportMetric(q(0.50), "p50-ms")
		b.ReportMetric(q(0.95), "p95-ms")
	}
	b.ReportMetric(float64(len(lat)), "opened")
	b.ReportMetric(float64(missed), "missed")
	b.ReportMetric(st.fps, "frames/s")
	b.ReportMetric(st.droppedPct, "dropped-%")
	b.ReportMetric(st.laneMs, "lane-ms")
}

// gateEngine opens the face engine the gate program opens: the gate's model
// only, --workers (1) workers. The package's shared engine runs every model.
func gateEngine(b *testing.B, model string) *faces.Engine {
	e, err := faces.Open(faces.Config{ModelDir: testenv.ModelDir(b), Models: []string{model}, Workers: DefaultConfig().Workers})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { e.Close() })
	return e
}

// enrollMulti enrolls a visitor on a ticket of 1,000 entries valid today,
// so each admission claims an entry in NATS.
func enrollMulti(b *testing.B, s *site, order, photo string) string {
	res, err := s.enroll.Service().CreateOrder(context.Background(), service.System("bench"), service.OrderRequest{
		OrderID: order, Consent: true,
		Visitors: []service.VisitorRequest{{Name: "游客", TicketType: "multi", Entries: 1000,
			ValidFrom: rules.Site{}.Day(time.Now()).String(), Zones: []string{"main"},
			Photos: [][]byte{testenv.Photo(b, photo)}}},
	})
	if err != nil {
		b.Fatal(err)
	}
	return res.Tickets[0].ID
}

// approachCamera plays prepared frames as a live camera does: a frame
// every 1/15 s on its own clock, whether or not the lane is ready for it,
// and Read returns only the newest frame — frames the lane was too busy for
// are dropped, never queued (hardware/camera's live sources do the same).
// It implements Camera.
type approachCamera struct {
	frames []gocv.Mat // every frame it can show; closed by close
	large  []bool     // the frame's largest face is at least --min-face
	empty  []int      // frames of nobody
	walk   [][]int    // per photo, the frames of the visitor walking up
	stand  [][]int    // per photo, frames of the visitor at full size

	stop chan struct{}
	done chan struct{}

	mu         sync.Mutex
	script     []int // frames to show next, one per period
	loop       []int // frames shown in turn once script has run out
	next       int   // in loop
	shown      int   // the frame on show
	shownAt    time.Time
	seq, taken uint64
	firstLarge time.Time // when the current play first showed a large face
	arrived    chan struct{}

	// Counting, from startCounting.
	countFrom     time.Time
	shownN, readN int
	busy          time.Duration // the lane's time between Reads
	lastRead      time.Time
}

func newApproachCamera(b *testing.B, size image.Point, minFace int) *approachCamera {
	c := &approachCamera{stop: make(chan struct{}), done: make(chan struct{}), arrived: make(chan struct{})}
	sc := scene.New(size.X, size.Y, 1)
	add := func(m gocv.Mat) int {
		c.frames = append(c.frames, m)
		return len(c.frames) - 1
	}
	seed := uint64(1)
	for range 4 {
		c.empty = append(c.empty, add(sc.Empty(seed)))
		seed++
	}
	full := size.Y / 3
	ctx := context.Background()
	for _, name := range approachPhotos {
		photo := gocv.IMRead(testenv.PhotoPath(b, name), gocv.IMReadColor)
		found, err := engine.DetectMat(ctx, photo)
		if err != nil || len(found) != 1 {
			b.Fatalf("DetectMat(%s) = %d faces, %v; want 1", name, len(found), err)
		}
		visitor := func(face int) int {
			m, err := sc.Visitor(photo, found[0].Rect, face, seed)
			if err != nil {
				b.Fatal(err)
			}
			seed++
			return add(m)
		}
		// Walking at a steady pace, the face's size goes as one over the
		// distance: from a quarter of full size to full size.
		var walk, stand []int
		for k := range walkFrames {
			t := float64(k) / (walkFrames - 1)
			walk = append(walk, visitor(int(1/((1-t)/(float64(full)/4)+t/float64(full))+0.5)))
		}
		for range 4 {
			stand = append(stand, visitor(full))
		}
		photo.Close()
		c.walk, c.stand = append(c.walk, walk), append(c.stand, stand)
	}
	// Which frames show a face the gate looks at, as the face engine
	// sees them.
	c.large = make([]bool, len(c.frames))
	for i, m := range c.frames {
		found, err := engine.DetectMat(ctx, m)
		if err != nil {
			b.Fatal(err)
		}
		c.large[i] = len(found) > 0 && found[0].Size >= minFace
	}
	for p := range c.walk {
		if !c.large[c.stand[p][0]] || c.large[c.walk[p][0]] {
			b.Fatalf("%s: the face must start below --min-face and end above it", approachPhotos[p])
		}
	}
	c.loop, c.shown = c.empty, c.empty[0]
	go c.play(time.Second / cameraFPS)
	return c
}

// play shows a frame every period until close.
func (c *approachCamera) play(period time.Duration) {
	defer close(c.done)
	next := time.Now()
	for {
		next = next.Add(period)
		select {
		case <-c.stop:
			return
		case <-time.After(time.Until(next)):
		}
		now := time.Now()
		c.mu.Lock()
		if len(c.script) > 0 {
			c.shown, c.script = c.script[0], c.script[1:]
		} else {
			c.shown, c.next = c.loop[c.next%len(c.loop)], c.next+1
		}
		c.shownAt = now
		c.seq++
		if c.large[c.shown] && c.firstLarge.IsZero() {
			c.firstLarge = now
		}
		if !c.countFrom.IsZero() {
			c.shownN++
		}
		close(c.arrived)
		c.arrived = make(chan struct{})
		c.mu.Unlock()
	}
}

// show plays script once, then loop round and round.
func (c *approachCamera) show(script, loop []int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.script, c.loop, c.next = slices.Clone(script), loop, 0
	c.firstLarge = time.Time{}
}

// Read returns a copy of the frame on show, once a frame the lane has not
// seen is on show.
func (c *approachCamera) Read(ctx context.Context) (camera.Frame, error) {
	c.mu.Lock()
	if !c.lastRead.IsZero() && !c.countFrom.IsZero() {
		c.busy += time.Since(c.lastRead)
		c.readN++
	}
	for c.seq == c.taken {
		arrived := c.arrived
		c.mu.Unlock()
		select {
		case <-ctx.Done():
			return camera.Frame{}, ctx.Err()
		case <-arrived:
		}
		c.mu.Lock()
	}
	defer c.mu.Unlock()
	c.taken = c.seq
	f := camera.Frame{Mat: c.frames[c.shown].Clone(), Seq: c.seq, At: c.shownAt, Source: "approach"}
	c.lastRead = time.Now()
	return f, nil
}

// approach plays one visitor's approach and returns the time from the first
// frame with a face large enough to the relay's "on", false when the
// turnstile did not open within holdLimit of the visitor's arrival.
func (c *approachCamera) approach(b *testing.B, g *lane, i int) (ms float64, ok bool) {
	p := i % len(c.walk)
	seen := len(g.sim.Events())
	script := append(slices.Repeat(c.empty, idleFrames/len(c.empty)+1)[:idleFrames], c.walk[p]...)
	c.show(script, c.stand[p])
	limit := time.Duration(idleFrames+walkFrames)*time.Second/cameraFPS + holdLimit
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	events, err := g.sim.WaitEvents(ctx, seen+1)
	cancel()
	c.mu.Lock()
	first := c.firstLarge
	c.mu.Unlock()
	// The visitor walks through; nobody is in view.
	c.show(nil, c.empty)
	if err != nil {
		return 0, false
	}
	on := events[seen]
	if !on.On || first.IsZero() || on.At.Before(first) {
		b.Fatalf("approach %d: relay %v at %v, the face large enough at %v; want the relay on after the face", i, on, on.At, first)
	}
	// The pulse's "off", so that the next approach starts afresh.
	wctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	if _, err := g.sim.WaitEvents(wctx, seen+2); err != nil {
		b.Fatal(err)
	}
	return float64(on.At.Sub(first).Microseconds()) / 1000, true
}

type cameraCounts struct {
	fps, droppedPct, laneMs float64
}

func (c *approachCamera) startCounting() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.countFrom = time.Now()
}

func (c *approachCamera) counts() cameraCounts {
	c.mu.Lock()
	defer c.mu.Unlock()
	var st cameraCounts
	if c.readN == 0 || c.shownN == 0 {
		return st
	}
	st.fps = float64(c.readN) / time.Since(c.countFrom).Seconds()
	st.droppedPct = 100 * float64(max(0, c.shownN-c.readN)) / float64(c.shownN)
	st.laneMs = float64(c.busy.Microseconds()) / 1000 / float64(c.readN)
	return st
}

func (c *approachCamera) close() {
	close(c.stop)
	<-c.done
	for _, m := range c.frames {
		m.Close()
	}
}
