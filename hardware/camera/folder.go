package camera

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"gocv.io/x/gocv"
)

// emptyWait is how long a looping folder without a readable image waits
// before listing it again (or a period, when that is longer).
const emptyWait = time.Second

var errNoImages = fmt.Errorf("%w: the folder holds no readable JPEG or PNG image", ErrNoFrame)

// folderSource plays the images of a folder in name order.
type folderSource struct {
	sp    spec
	opts  Options
	log   *slog.Logger
	stats *tracker

	turns

	// The fields below belong to the holder of the turn.
	files      []string // names from the last listing
	next       int      // index in files of the next image to try
	listed     bool     // files holds a listing
	listFailed bool     // the last attempt to list failed
	decoded    int      // images decoded since the last listing
	seq        uint64
	failed     map[string]bool // files whose failure was already logged
}

func openFolder(sp spec, opts Options) (*folderSource, error) {
	s := &folderSource{
		sp:     sp,
		opts:   opts,
		log:    opts.Logger.With("camera", sp.name),
		stats:  newTracker(sp.name, KindFolder),
		turns:  newTurns(opts.period()),
		failed: make(map[string]bool),
	}
	s.stats.update(func(st *Stats) { st.Healthy = true })
	return s, nil
}

func (s *folderSource) String() string { return s.sp.name }

func (s *folderSource) Stats() Stats { return s.stats.snapshot(time.Now()) }

func (s *folderSource) Read(ctx context.Context) (Frame, error) {
	release, due, err := s.begin(ctx)
	if err != nil {
		return Frame{}, err
	}
	defer release()
	for {
		if s.next >= len(s.files) || !s.listed {
			if err := s.startPass(ctx); err != nil {
				return Frame{}, err
			}
			continue
		}
		name := s.files[s.next]
		s.next++
		m, ok := s.decode(name)
		if !ok {
			if s.next == len(s.files) && s.decoded == 0 {
				s.noImages()
			}
			continue
		}
		s.decoded++
		s.seq++
		at := time.Now()
		s.stats.frame(at)
		s.pace.mark(due)
		return Frame{Mat: m, Seq: s.seq, At: at, Source: s.sp.name, Name: name}, nil
	}
}

// startPass lists the folder for the first pass or, at the end of one,
// either starts the next (Loop) or ends the stream.
func (s *folderSource) startPass(ctx context.Context) error {
	if s.listed && !s.opts.Loop {
		s.ended = true
		return ErrEndOfStream
	}
	if s.listFailed || (s.listed && s.decoded == 0) {
		// The listing failed, or the last pass had nothing readable:
		// do not spin, give the folder (or a demo's photos) time to
		// appear.
		if err := sleep(ctx, s.done, max(emptyWait, s.pace.period)); err != nil {
			return err
		}
	}
	files, err := listImages(s.sp.target)
	if err != nil {
		s.listFailed = true
		f := &Fault{Source: s.sp.name, Op: "list", Err: err}
		if s.stats.fault(f) {
			s.log.Warn("camera folder cannot be listed", "err", err)
		}
		return f
	}
	s.listFailed = false
	if s.listed && s.decoded > 0 {
		s.stats.update(func(st *Stats) { st.Loops++ })
	}
	s.files, s.next, s.listed, s.decoded = files, 0, true, 0
	if len(files) == 0 {
		if !s.opts.Loop {
			s.ended = true
			return ErrEndOfStream
		}
		s.noImages()
	}
	return nil
}

// noImages records a pass without a readable image.
func (s *folderSource) noImages() {
	f := &Fault{Source: s.sp.name, Op: "read", Err: errNoImages}
	if s.stats.fault(f) {
		s.log.Warn("camera folder has no readable image")
	}
}

// decode reads one image, logging and counting a file it cannot use.
func (s *folderSource) decode(name string) (gocv.Mat, bool) {
	path := filepath.Join(s.sp.target, name)
	m, err := decodeImage(path, s.opts.Width, s.opts.Height)
	if err != nil {
		s.stats.update(func(st *Stats) { st.Skipped++ })
		// A bad file in a looping folder fails on every pass; say so
		// once.
		if !s.failed[name] {
			s.failed[name] = true
			s.log.Warn("camera skips unreadable image", "file", name, "err", err)
		}
		return gocv.Mat{}, false
	}
	return m, true
}

// decodeImage reads an image file as 8-bit BGR, scaled to fit inside w×h.
func decodeImage(path string, w, h int) (gocv.Mat, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return gocv.Mat{}, err
	}
	if len(data) == 0 {
		return gocv.Mat{}, errors.New("empty file")
	}
	m, err := gocv.IMDecode(data, decodeFlag(data, w, h))
	if err != nil {
		return gocv.Mat{}, err
	}
	if m.Empty() {
		m.Close()
		return gocv.Mat{}, errors.New("not a JPEG or PNG image OpenCV can decode")
	}
	return fit(m, w, h), nil
}

// listImages returns the JPEG and PNG files in dir in name order. Hidden
// files are left out: editors' and file managers' droppings (._photo.jpg)
// are not pictures.
func listImages(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir) // sorted by name
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || strings.HasPrefix(name, ".") {
			continue
		}
		switch strings.ToLower(filepath.Ext(name)) {
		case ".jpg", ".jpeg", ".png":
			names = append(names, name)
		}
	}
	return names, nil
}

func (s *folderSource) Close() error {
	s.shut(func() { s.stats.update(func(st *Stats) { st.Healthy = false }) })
	return nil
}
