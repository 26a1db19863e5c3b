package camera

import (
	"context"
	"errors"
	"fmt"
	"image"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"gocv.io/x/gocv"

	"github.com/scenicgate/scenicgate/internal/testenv"
)

// photoSizes are the upright sizes of the test photos, so that a test can
// tell which photo a frame shows.
var photoSizes = map[string]image.Point{
	"obama.jpg":  image.Pt(910, 1137),
	"obama2.jpg": image.Pt(626, 1200),
	"obama3.jpg": image.Pt(1434, 2333),
	"biden.jpg":  image.Pt(970, 2204),
	"32bit.png":  image.Pt(626, 1200),
}

// copyPhoto copies test photo photo into dir as name.
func copyPhoto(tb testing.TB, dir, name, photo string) {
	tb.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), testenv.Photo(tb, photo), 0o644); err != nil {
		tb.Fatal(err)
	}
}

// writeFile writes data into dir as name.
func writeFile(tb testing.TB, dir, name string, data []byte) {
	tb.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
		tb.Fatal(err)
	}
}

// frameSize returns a frame's size.
func frameSize(f Frame) image.Point { return image.Pt(f.Mat.Cols(), f.Mat.Rows()) }

// readFrame reads one frame, failing the test after timeout.
func readFrame(tb testing.TB, src Source, timeout time.Duration) Frame {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	f, err := src.Read(ctx)
	if err != nil {
		tb.Fatalf("Read = %v; want a frame (stats %+v)", err, src.Stats())
	}
	if f.Mat.Empty() || f.Mat.Type() != gocv.MatTypeCV8UC3 {
		tb.Fatalf("Read gave a frame of type %v, empty %v; want 8-bit BGR", f.Mat.Type(), f.Mat.Empty())
	}
	return f
}

// names reads n frames and returns their file names, closing them.
func names(tb testing.TB, src Source, n int) []string {
	tb.Helper()
	var out []string
	for range n {
		f := readFrame(tb, src, 10*time.Second)
		out = append(out, f.Name)
		f.Close()
	}
	return out
}

// mustOpen opens spec and closes the source at the end of the test.
func mustOpen(tb testing.TB, spec string, opts Options) Source {
	tb.Helper()
	if opts.Logger == nil {
		opts.Logger = testLogger(tb, nil)
	}
	src, err := Open(spec, opts)
	if err != nil {
		tb.Fatalf("Open(%q) = %v", spec, err)
	}
	tb.Cleanup(func() {
		if err := src.Close(); err != nil {
			tb.Errorf("Close = %v", err)
		}
	})
	return src
}

// testLogger logs to the test's output and, when rec is not nil, records
// each message.
func testLogger(tb testing.TB, rec *logRecord) *slog.Logger {
	return slog.New(&recordHandler{
		Handler: slog.NewTextHandler(testWriter{tb}, &slog.HandlerOptions{Level: slog.LevelDebug}),
		rec:     rec,
	})
}

type testWriter struct{ tb testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.tb.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// logRecord collects log messages at warning level and above.
type logRecord struct {
	mu   sync.Mutex
	msgs []string
}

func (r *logRecord) count(prefix string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, m := range r.msgs {
		if strings.HasPrefix(m, prefix) {
			n++
		}
	}
	return n
}

type recordHandler struct {
	slog.Handler
	rec *logRecord
}

func (h *recordHandler) Handle(ctx context.Context, r slog.Record) error {
	if h.rec != nil && r.Level >= slog.LevelWarn {
		h.rec.mu.Lock()
		h.rec.msgs = append(h.rec.msgs, r.Message)
		h.rec.mu.Unlock()
	}
	return h.Handler.Handle(ctx, r)
}

func (h *recordHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &recordHandler{Handler: h.Handler.WithAttrs(as), rec: h.rec}
}

func (h *recordHandler) WithGroup(name string) slog.Handler {
	return &recordHandler{Handler: h.Handler.WithGroup(name), rec: h.rec}
}

// writeVideo writes an MJPG AVI of n w×h frames at fps, cycling through the
// test photos, and returns its path. OpenCV writes it with FFmpeg, the same
// backend that reads it back.
func writeVideo(tb testing.TB, dir string, n, w, h int, fps float64) string {
	tb.Helper()
	path := filepath.Join(dir, "lane.avi")
	vw, err := gocv.VideoWriterFile(path, "MJPG", fps, w, h, true)
	if err != nil {
		tb.Fatal(err)
	}
	defer vw.Close()
	if !vw.IsOpened() {
		tb.Fatal("OpenCV cannot write an MJPG AVI")
	}
	photos := []string{"obama.jpg", "biden.jpg", "obama2.jpg", "obama3.jpg"}
	for i := range n {
		m := gocv.IMRead(testenv.PhotoPath(tb, photos[i%len(photos)]), gocv.IMReadColor)
		scaled := gocv.NewMat()
		gocv.Resize(m, &scaled, image.Pt(w, h), 0, 0, gocv.InterpolationArea)
		err := vw.Write(scaled)
		m.Close()
		scaled.Close()
		if err != nil {
			tb.Fatal(err)
		}
	}
	return path
}

// mjpegServer is an IP camera's HTTP MJPEG stream on the loopback
// interface: multipart/x-mixed-replace, one JPEG a part, as FFmpeg's mpjpeg
// demuxer reads it. It can be stalled: every connection, open or new, then
// keeps quiet (a new one gets its headers but no frame) until resume, which
// lets the stalled ones end and new ones stream again.
type mjpegServer struct {
	URL   string
	jpeg  []byte
	every time.Duration

	mu      sync.Mutex
	stalled chan struct{} // open while stalled; nil while streaming
	conns   int           // connections served so far

	srv *http.Server
	wg  sync.WaitGroup
}

func newMJPEGServer(tb testing.TB, photo string, every time.Duration) *mjpegServer {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	s := &mjpegServer{
		URL:   "http://" + ln.Addr().String() + "/video.mjpg",
		jpeg:  testenv.Photo(tb, photo),
		every: every,
	}
	s.srv = &http.Server{Handler: http.HandlerFunc(s.serve)}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := s.srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			tb.Errorf("mjpeg server: %v", err)
		}
	}()
	tb.Cleanup(func() {
		s.resume()
		s.srv.Close()
		s.wg.Wait()
	})
	return s
}

func (s *mjpegServer) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.conns++
	s.mu.Unlock()
	w.Header().Set("Content-Type", "multipart/x-mixed-replace; boundary=frame")
	w.WriteHeader(http.StatusOK)
	flush := w.(http.Flusher)
	flush.Flush()
	t := time.NewTicker(s.every)
	defer t.Stop()
	for {
		if stalled := s.stall(); stalled != nil {
			select {
			case <-stalled:
				return // drop the stalled connection; the client reconnects
			case <-r.Context().Done():
				return
			}
		}
		fmt.Fprintf(w, "--frame\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n", len(s.jpeg))
		w.Write(s.jpeg)
		if _, err := w.Write([]byte("\r\n")); err != nil {
			return
		}
		flush.Flush()
		select {
		case <-t.C:
		case <-r.Context().Done():
			return
		}
	}
}

// stall returns the channel to wait on while stalled, or nil.
func (s *mjpegServer) stall() chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stalled
}

// pause stops sending frames on every connection.
func (s *mjpegServer) pause() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stalled == nil {
		s.stalled = make(chan struct{})
	}
}

// resume ends the stalled connections and streams on new ones.
func (s *mjpegServer) resume() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stalled != nil {
		close(s.stalled)
		s.stalled = nil
	}
}

func (s *mjpegServer) connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conns
}

// waitLimit bounds a wait for something the watchdog is expected to do.
// It is many times what that takes under the race detector on a busy
// machine: reaching it means a hang, not slowness. The time actually taken
// is logged; how fast the watchdog is belongs in benchmarks.
const waitLimit = 60 * time.Second

// eventually polls cond every 10 ms until it holds, failing the test after
// timeout, and logs how long it took.
func eventually(tb testing.TB, timeout time.Duration, what string, cond func() bool) {
	tb.Helper()
	start := time.Now()
	deadline := start.Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("%s: not within %v", what, timeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
	tb.Logf("%s: after %v", what, time.Since(start).Round(time.Millisecond))
}
