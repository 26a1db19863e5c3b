package camera

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"
)

// fastWatch makes the watchdog act within a test's patience. A 2 s read
// timeout is two hundred frame intervals of the test server: long enough
// that a healthy stream on a loaded machine (the race detector, another
// build) is never taken for a stalled one, short enough that a stall is
// seen in seconds.
var fastWatch = Options{
	ReadTimeout:  2 * time.Second,
	OpenTimeout:  3 * time.Second,
	Backoff:      Backoff{Initial: 20 * time.Millisecond, Max: 100 * time.Millisecond},
	CloseTimeout: 5 * time.Second,
}

// idle reports whether a live source has no capture goroutine left and no
// frame held.
func idle(src Source) bool {
	s := src.(*liveSource)
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.running == 0 && s.pending.Ptr() == nil
}

func TestStreamDeliversNewestFrames(t *testing.T) {
	srv := newMJPEGServer(t, "obama.jpg", 10*time.Millisecond)
	src := mustOpen(t, srv.URL, Options{})

	first := readFrame(t, src, 10*time.Second)
	if frameSize(first) != photoSizes["obama.jpg"] || first.Source != srv.URL || first.Seq == 0 {
		t.Errorf("frame: size %v, source %q, seq %d; want the photo's size from %s", frameSize(first), first.Source, first.Seq, srv.URL)
	}
	first.Close()
	// A slow consumer gets the newest frame, not a backlog.
	time.Sleep(200 * time.Millisecond)
	next := readFrame(t, src, 10*time.Second)
	next.Close()
	if next.Seq < first.Seq+2 {
		t.Errorf("after a 200 ms pause Seq went from %d to %d; want frames dropped in between", first.Seq, next.Seq)
	}
	st := src.Stats()
	if !st.Healthy || st.Kind != KindStream || st.Dropped == 0 || st.FPS <= 0 || st.Frames < next.Seq || st.Reopens != 0 {
		t.Errorf("Stats = %+v; want healthy stream with frames dropped, a rate, no reopen", st)
	}
}

// A stream whose server stops sending is the failure a turnstile camera
// has in the field (a hung IP camera, a cable half out). The watchdog must
// notice, keep reopening while the server is silent, and be back as soon as
// it sends again. The server here stalls on purpose, holding every
// connection open without a byte, which is what makes a plain
// VideoCapture.Read block for FFmpeg's 30 s timeout; it stalls on command, so
// the test does not depend on timing luck.
func TestStreamStallIsDetectedAndRecovered(t *testing.T) {
	srv := newMJPEGServer(t, "obama2.jpg", 10*time.Millisecond)
	rec := &logRecord{}
	opts := fastWatch
	opts.Logger = testLogger(t, rec)
	src, err := Open(srv.URL, opts)
	if err != nil {
		t.Fatal(err)
	}
	f := readFrame(t, src, 10*time.Second)
	f.Close()

	srv.pause()
	eventually(t, waitLimit, "watchdog reopens the stalled stream twice", func() bool {
		st := src.Stats()
		return st.Reopens >= 2 && !st.Healthy && st.Stuck >= 1
	})
	st := src.Stats()
	if !strings.Contains(st.LastError, "stall") {
		t.Errorf("Stats.LastError = %q; want a stall", st.LastError)
	}
	// A stalled source hands out no stale frame.
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	if f, err := src.Read(ctx); !errors.Is(err, context.DeadlineExceeded) {
		f.Close()
		t.Errorf("Read while stalled = seq %d, %v; want context.DeadlineExceeded", f.Seq, err)
	}
	cancel()
	if n := rec.count("camera fault"); n != 1 {
		t.Errorf("%d warnings about the fault; want 1 however often it reopens", n)
	}

	srv.resume()
	f = readFrame(t, src, 10*time.Second)
	if frameSize(f) != photoSizes["obama2.jpg"] {
		t.Errorf("frame after recovery: size %v", frameSize(f))
	}
	f.Close()
	eventually(t, waitLimit, "abandoned captures return", func() bool {
		st := src.Stats()
		return st.Healthy && st.Stuck == 0
	})
	if conns := srv.connections(); conns < 3 {
		t.Errorf("server saw %d connections; want the first and at least two reopens", conns)
	}

	if err := src.Close(); err != nil {
		t.Errorf("Close = %v", err)
	}
	if !idle(src) {
		t.Error("capture goroutines or a frame left after Close")
	}
}

// A camera that is not there at boot (unplugged, wrong address) is not an
// error from Open: the source keeps trying and says why on the status page.
func TestLiveSourceThatNeverOpens(t *testing.T) {
	// A port with nothing listening: connections are refused at once.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := "http://" + ln.Addr().String() + "/video.mjpg"
	ln.Close()

	tests := []struct {
		name, spec string
		kind       Kind
	}{
		{"stream refused", refused, KindStream},
		{"device missing", "/dev/video-scenicgate-missing", KindDevice},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src, err := Open(tt.spec, Options{
				Logger:  testLogger(t, nil),
				Backoff: Backoff{Initial: 10 * time.Millisecond, Max: 40 * time.Millisecond},
			})
			if err != nil {
				t.Fatalf("Open = %v; want a source that keeps trying", err)
			}
			eventually(t, waitLimit, "reopens", func() bool { return src.Stats().Reopens >= 3 })
			st := src.Stats()
			if st.Healthy || st.Kind != tt.kind || !strings.Contains(st.LastError, "open") || st.Frames != 0 {
				t.Errorf("Stats = %+v; want unhealthy %s, an open error, no frame", st, tt.kind)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
			defer cancel()
			if _, err := src.Read(ctx); !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("Read = %v; want context.DeadlineExceeded", err)
			}
			if err := src.Close(); err != nil {
				t.Errorf("Close = %v", err)
			}
			if !idle(src) {
				t.Error("capture goroutines left after Close")
			}
		})
	}
}

func TestLiveClose(t *testing.T) {
	t.Run("frees the waiting frame", func(t *testing.T) {
		srv := newMJPEGServer(t, "obama.jpg", 10*time.Millisecond)
		src, err := Open(srv.URL, Options{Logger: testLogger(t, nil)})
		if err != nil {
			t.Fatal(err)
		}
		f := readFrame(t, src, 10*time.Second)
		f.Close()
		eventually(t, waitLimit, "a frame waiting in the source", func() bool {
			s := src.(*liveSource)
			s.mu.Lock()
			defer s.mu.Unlock()
			return s.pending.Ptr() != nil
		})
		if err := src.Close(); err != nil {
			t.Errorf("Close = %v", err)
		}
		if !idle(src) {
			t.Error("capture goroutines or a frame left after Close")
		}
		if _, err := src.Read(context.Background()); !errors.Is(err, ErrClosed) {
			t.Errorf("Read after Close = %v; want ErrClosed", err)
		}
		if err := src.Close(); err != nil {
			t.Errorf("second Close = %v; want nil", err)
		}
	})

	t.Run("waits for a blocked capture and ends a waiting Read", func(t *testing.T) {
		srv := newMJPEGServer(t, "obama.jpg", 10*time.Millisecond)
		src, err := Open(srv.URL, Options{Logger: testLogger(t, nil)})
		if err != nil {
			t.Fatal(err)
		}
		f := readFrame(t, src, 10*time.Second)
		f.Close()
		srv.pause()
		drain(t, src)

		readErr := make(chan error, 1)
		go func() {
			f, err := src.Read(context.Background())
			f.Close()
			readErr <- err
		}()
		// The capture is blocked in FFmpeg's read until the server lets
		// its connection go.
		time.AfterFunc(100*time.Millisecond, srv.resume)
		if err := src.Close(); err != nil {
			t.Errorf("Close = %v; want nil once the capture returned", err)
		}
		if !idle(src) {
			t.Error("capture goroutines left after Close")
		}
		if err := <-readErr; !errors.Is(err, ErrClosed) {
			t.Errorf("waiting Read = %v; want ErrClosed", err)
		}
	})

	t.Run("gives up on a capture stuck in OpenCV", func(t *testing.T) {
		srv := newMJPEGServer(t, "obama.jpg", 10*time.Millisecond)
		src, err := Open(srv.URL, Options{Logger: testLogger(t, nil), CloseTimeout: 200 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		f := readFrame(t, src, 10*time.Second)
		f.Close()
		srv.pause()
		drain(t, src)

		start := time.Now()
		err = src.Close()
		if !errors.Is(err, ErrStuck) {
			t.Errorf("Close = %v; want ErrStuck", err)
		}
		// Close returned while the capture is still blocked: it gave up
		// rather than waited.
		if idle(src) {
			t.Error("Close returned after the capture came back; want it to give up while the capture is stuck")
		}
		t.Logf("Close gave up after %v (CloseTimeout 200ms)", time.Since(start).Round(time.Millisecond))
		// The capture still cleans up when OpenCV returns.
		srv.resume()
		eventually(t, waitLimit, "the stuck capture returns", func() bool { return idle(src) })
	})
}

// drain reads until no frame comes for 100 ms.
func drain(tb testing.TB, src Source) {
	tb.Helper()
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		f, err := src.Read(ctx)
		cancel()
		if err != nil {
			return
		}
		f.Close()
	}
}
