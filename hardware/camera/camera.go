package camera

import (
	"context"
	"log/slog"
	"time"

	"gocv.io/x/gocv"
)

// Frame is one picture from a Source.
//
// Mat belongs to the caller that received the Frame from Read, who must close
// it exactly once: Frame.Close does, and may be called again on the same
// Frame value, but closing two copies of one Frame frees the picture twice.
type Frame struct {
	// Mat is the picture: 8-bit BGR, as the face engine and the QR reader
	// take it.
	Mat gocv.Mat
	// Seq numbers the frames the source produced since Open, from 1,
	// across reopens and loops. A live source counts every frame the camera
	// sent, so a gap means frames that were replaced by newer ones before
	// Read was called.
	Seq uint64
	// At is when the frame was captured (live sources) or decoded.
	At time.Time
	// Source is the source's String().
	Source string
	// Name is the file a folder frame was decoded from, without its folder;
	// "" for other sources.
	Name string
}

// Close frees the frame's picture. It may be called more than once on the
// same Frame value.
func (f *Frame) Close() error {
	return f.Mat.Close()
}

// Source delivers frames. Sources are safe for concurrent use; each frame is
// handed to one caller of Read.
type Source interface {
	// Read returns the next frame, whose Mat the caller must close. It
	// waits for a frame until ctx ends, returning ctx.Err() then.
	//
	// A live source recovers from faults by itself, so its Read returns no
	// hardware errors: it waits while the camera is away (see Stats). A
	// recorded source returns ErrEndOfStream at its end unless it loops,
	// and a *Fault when its file or folder cannot be read; a later Read
	// tries again. After Close, Read returns ErrClosed.
	Read(ctx context.Context) (Frame, error)
	// Stats reports the source's health for the gate's status page. It
	// never blocks behind a Read.
	Stats() Stats
	// Close stops the source and frees the frames it holds and its
	// captures; Reads waiting for a frame return ErrClosed. It waits for a
	// recorded source's Read in progress, and for a live source's
	// goroutines to come back from OpenCV, at most Options.CloseTimeout:
	// a capture still blocked then (a dead stream) makes Close return a
	// *Fault wrapping ErrStuck, and frees its resources itself when OpenCV
	// returns. Close may be called more than once; later calls return nil.
	Close() error
	// String names the source as the spec it was opened with, without
	// passwords.
	String() string
}

// Kind is what a source reads from.
type Kind string

// Kinds of source.
const (
	KindDevice Kind = "device" // a camera by index or device path
	KindStream Kind = "stream" // a network stream by URL
	KindFile   Kind = "file"   // a video file
	KindFolder Kind = "folder" // a folder of images
)

// Live reports whether sources of kind k capture continuously and watch
// themselves (devices and streams) rather than decode on demand.
func (k Kind) Live() bool { return k == KindDevice || k == KindStream }

// Stats is a snapshot of a source's health.
type Stats struct {
	Source string // as Source.String()
	Kind   Kind
	// Healthy is true while a live source delivers frames, and for a
	// recorded source until a read fails (a looping folder without a
	// readable image counts as failing) and again after the next frame.
	Healthy bool
	// Frames counts frames captured (live) or decoded (recorded) since
	// Open, over every reopen.
	Frames uint64
	// Dropped counts live frames replaced by a newer one before any Read
	// took them.
	Dropped uint64
	// FPS is the rate of Frames over the last few seconds; 0 when fewer
	// than two frames came in that time.
	FPS float64
	// LastFrame is when the newest frame was captured or decoded.
	LastFrame time.Time
	// Reopens counts the times a live source opened its camera or stream
	// again after a failure or a stall.
	Reopens int
	// Stuck is the number of captures the watchdog abandoned inside OpenCV
	// that have not returned yet.
	Stuck int
	// Loops counts the times a looping recorded source started over.
	Loops int
	// Skipped counts folder files that could not be read or decoded.
	Skipped int
	// LastError describes the most recent fault, and stays after the
	// source recovers; LastErrorAt is when it happened.
	LastError   string
	LastErrorAt time.Time
}

// Defaults for Options.
const (
	DefaultReadTimeout    = 5 * time.Second
	DefaultOpenTimeout    = 20 * time.Second
	DefaultBackoffInitial = 500 * time.Millisecond
	DefaultBackoffMax     = 30 * time.Second
	DefaultCloseTimeout   = 2 * time.Second
)

// Options tunes a source. The zero value suits a live camera; recorded
// sources then run unpaced and stop at their end.
type Options struct {
	// FPS paces recorded sources: Read returns at most FPS frames a
	// second. 0 leaves them unpaced.
	FPS float64
	// Loop makes a recorded source start over at its end instead of
	// returning ErrEndOfStream.
	Loop bool
	// Width and Height are the frame size wanted. A device is asked for
	// it (the driver picks the nearest size it supports); recorded frames
	// larger than it are scaled down to fit inside it, keeping their
	// aspect ratio. Streams send what their server sends. 0 means no
	// preference.
	Width, Height int
	// Logger receives faults and recoveries. nil means slog.Default().
	Logger *slog.Logger
	// ReadTimeout is how long a live source waits for one frame before it
	// declares the capture stalled and reopens it.
	ReadTimeout time.Duration
	// OpenTimeout is how long a live source waits for its camera or
	// stream to open.
	OpenTimeout time.Duration
	// Backoff paces a live source's attempts to reopen.
	Backoff Backoff
	// CloseTimeout bounds how long Close waits for abandoned captures
	// still blocked inside OpenCV.
	CloseTimeout time.Duration
}

// Backoff is an exponential backoff: Initial, doubled after each failure
// that follows without a frame in between, at most Max.
type Backoff struct {
	Initial, Max time.Duration
}

func (o Options) withDefaults() Options {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.FPS < 0 {
		o.FPS = 0
	}
	o.Width, o.Height = max(o.Width, 0), max(o.Height, 0)
	if o.ReadTimeout <= 0 {
		o.ReadTimeout = DefaultReadTimeout
	}
	if o.OpenTimeout <= 0 {
		o.OpenTimeout = DefaultOpenTimeout
	}
	if o.Backoff.Initial <= 0 {
		o.Backoff.Initial = DefaultBackoffInitial
	}
	if o.Backoff.Max <= 0 {
		o.Backoff.Max = DefaultBackoffMax
	}
	o.Backoff.Max = max(o.Backoff.Max, o.Backoff.Initial)
	if o.CloseTimeout <= 0 {
		o.CloseTimeout = DefaultCloseTimeout
	}
	return o
}

// period is the least time between two frames of a recorded source; 0 when
// unpaced.
func (o Options) period() time.Duration {
	if o.FPS <= 0 {
		return 0
	}
	return time.Duration(float64(time.Second) / o.FPS)
}

// Open returns the source spec names (see the package documentation). The
// caller must Close it.
//
// A bad spec, a missing file or folder, and a video file OpenCV cannot open
// are errors: they are configuration mistakes that waiting will not fix. A
// camera or stream that cannot be opened is not: Open returns at once and
// the source keeps trying in the background, so a gate can boot with its
// camera unplugged and show that on its status page.
func Open(spec string, opts Options) (Source, error) {
	sp, err := parseSpec(spec)
	if err != nil {
		return nil, err
	}
	opts = opts.withDefaults()
	switch sp.kind {
	case KindFolder:
		return openFolder(sp, opts)
	case KindFile:
		return openFile(sp, opts)
	}
	return openLive(sp, opts), nil
}
