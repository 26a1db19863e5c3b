package camera

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"gocv.io/x/gocv"
)

// fileSource plays a video file. Reads are made in the caller's goroutine:
// a local file cannot stall the way a network stream can.
type fileSource struct {
	sp    spec
	opts  Options
	log   *slog.Logger
	stats *tracker

	turns

	// The fields below belong to the holder of the turn.
	vc     *gocv.VideoCapture // nil once ended or closed
	seq    uint64
	inPass int // frames read since the file was last opened
}

func openFile(sp spec, opts Options) (*fileSource, error) {
	vc, err := openVideoFile(sp)
	if err != nil {
		return nil, err
	}
	s := &fileSource{
		sp:    sp,
		opts:  opts,
		log:   opts.Logger.With("camera", sp.name),
		stats: newTracker(sp.name, KindFile),
		turns: newTurns(opts.period()),
		vc:    vc,
	}
	s.stats.update(func(st *Stats) { st.Healthy = true })
	return s, nil
}

// openVideoFile opens a video file with FFmpeg, the backend that reads the
// files OpenCV itself writes (MJPG in AVI) and the usual MP4 and MKV. Asked
// for any backend, OpenCV would also try its image-sequence reader, which
// takes a '%' in a file name for a pattern.
func openVideoFile(sp spec) (*gocv.VideoCapture, error) {
	vc, err := gocv.VideoCaptureFileWithAPI(sp.target, gocv.VideoCaptureFFmpeg)
	if err != nil {
		// gocv allocates the capture even when opening fails.
		vc.Close()
		return nil, &Fault{Source: sp.name, Op: "open", Err: fmt.Errorf("OpenCV cannot open it as a video")}
	}
	return vc, nil
}

func (s *fileSource) String() string { return s.sp.name }

func (s *fileSource) Stats() Stats { return s.stats.snapshot(time.Now()) }

func (s *fileSource) Read(ctx context.Context) (Frame, error) {
	release, due, err := s.begin(ctx)
	if err != nil {
		return Frame{}, err
	}
	defer release()
	m, err := s.next()
	if err != nil {
		return Frame{}, err
	}
	s.seq++
	at := time.Now()
	s.stats.frame(at)
	s.pace.mark(due)
	return Frame{Mat: fit(m, s.opts.Width, s.opts.Height), Seq: s.seq, At: at, Source: s.sp.name}, nil
}

// next reads the next frame, starting the file over at its end when
// looping. OpenCV tells the end of a file from a damaged or truncated one no
// better than by failing to read, so both end the stream.
func (s *fileSource) next() (gocv.Mat, error) {
	for attempt := 0; attempt < 2; attempt++ {
		if s.vc == nil {
			vc, err := openVideoFile(s.sp)
			if err != nil {
				s.stats.fault(err)
				return gocv.Mat{}, err
			}
			s.vc, s.inPass = vc, 0
		}
		m := gocv.NewMat()
		if s.vc.Read(&m) && !m.Empty() {
			s.inPass++
			return m, nil
		}
		m.Close()
		empty := s.inPass == 0
		s.vc.Close()
		s.vc = nil
		if !s.opts.Loop {
			s.ended = true
			return gocv.Mat{}, ErrEndOfStream
		}
		if empty {
			break
		}
		s.stats.update(func(st *Stats) { st.Loops++ })
	}
	// A whole pass without one frame: looping again would spin.
	f := &Fault{Source: s.sp.name, Op: "read", Err: fmt.Errorf("%w: the video file holds no frame", ErrNoFrame)}
	if s.stats.fault(f) {
		s.log.Warn("camera file yields no frames", "err", f)
	}
	return gocv.Mat{}, f
}

func (s *fileSource) Close() error {
	s.shut(func() {
		if s.vc != nil {
			s.vc.Close()
			s.vc = nil
		}
		s.stats.update(func(st *Stats) { st.Healthy = false })
	})
	return nil
}
