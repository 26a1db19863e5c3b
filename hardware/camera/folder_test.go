package camera

import (
	"context"
	"errors"
	"image"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/scenicgate/scenicgate/internal/testenv"
)

func TestFolderPlaysImagesInNameOrder(t *testing.T) {
	dir := t.TempDir()
	copyPhoto(t, dir, "10_obama3.jpg", "obama3.jpg")
	copyPhoto(t, dir, "03_biden.JPG", "biden.jpg")
	copyPhoto(t, dir, "01_obama.jpeg", "obama.jpg")
	copyPhoto(t, dir, "02_obama2.jpg", "obama2.jpg")
	copyPhoto(t, dir, "04_rgba.png", "32bit.png")
	// Not pictures, or not to be played.
	writeFile(t, dir, "notes.txt", []byte("lane 3"))
	copyPhoto(t, dir, ".hidden.jpg", "obama.jpg")
	if err := os.Mkdir(filepath.Join(dir, "00_sub.jpg"), 0o755); err != nil {
		t.Fatal(err)
	}

	src := mustOpen(t, dir, Options{})
	want := []struct {
		name string
		size image.Point
	}{
		{"01_obama.jpeg", photoSizes["obama.jpg"]},
		{"02_obama2.jpg", photoSizes["obama2.jpg"]},
		{"03_biden.JPG", photoSizes["biden.jpg"]},
		{"04_rgba.png", photoSizes["32bit.png"]},
		{"10_obama3.jpg", photoSizes["obama3.jpg"]},
	}
	for i, w := range want {
		f := readFrame(t, src, 10*time.Second)
		if f.Name != w.name || frameSize(f) != w.size || f.Seq != uint64(i+1) || f.Source != dir {
			t.Errorf("frame %d = {%q, %v, seq %d, source %q}; want {%q, %v, seq %d, source %q}",
				i, f.Name, frameSize(f), f.Seq, f.Source, w.name, w.size, i+1, dir)
		}
		f.Close()
	}
	for range 2 {
		if f, err := src.Read(context.Background()); !errors.Is(err, ErrEndOfStream) {
			f.Close()
			t.Fatalf("Read after the last image = %v; want ErrEndOfStream", err)
		}
	}
	st := src.Stats()
	if st.Frames != 5 || st.Kind != KindFolder || st.Skipped != 0 || st.Loops != 0 || !st.Healthy {
		t.Errorf("Stats = %+v; want 5 frames, kind folder, none skipped, no loop, healthy", st)
	}
}

func TestFolderLoopListsAgainEachPass(t *testing.T) {
	dir := t.TempDir()
	copyPhoto(t, dir, "a.jpg", "obama.jpg")
	copyPhoto(t, dir, "b.jpg", "biden.jpg")
	src := mustOpen(t, dir, Options{Loop: true})

	if got, want := names(t, src, 2), []string{"a.jpg", "b.jpg"}; !slices.Equal(got, want) {
		t.Fatalf("first pass = %q; want %q", got, want)
	}
	// A demo drops a photo in and takes one away during a pass; the
	// next pass shows the change.
	copyPhoto(t, dir, "c.jpg", "obama2.jpg")
	if err := os.Remove(filepath.Join(dir, "a.jpg")); err != nil {
		t.Fatal(err)
	}
	if got, want := names(t, src, 5), []string{"b.jpg", "c.jpg", "b.jpg", "c.jpg", "b.jpg"}; !slices.Equal(got, want) {
		t.Errorf("later passes = %q; want %q", got, want)
	}
	if st := src.Stats(); st.Loops != 3 || st.Frames != 7 {
		t.Errorf("Stats = %+v; want 3 loops, 7 frames", st)
	}
}

func TestFolderSkipsUnreadableFiles(t *testing.T) {
	png := testenv.Photo(t, "32bit.png")
	tests := []struct {
		name string
		data []byte
	}{
		{"02_text.jpg", []byte("this is not a JPEG")},
		{"03_truncated.png", png[:200]},
		{"04_empty.jpg", nil},
	}
	dir := t.TempDir()
	copyPhoto(t, dir, "01_good.jpg", "obama.jpg")
	for _, tt := range tests {
		writeFile(t, dir, tt.name, tt.data)
	}
	copyPhoto(t, dir, "05_good.jpg", "obama2.jpg")
	rec := &logRecord{}
	src := mustOpen(t, dir, Options{Loop: true, Logger: testLogger(t, rec)})

	want := []string{"01_good.jpg", "05_good.jpg", "01_good.jpg", "05_good.jpg"}
	if got := names(t, src, 4); !slices.Equal(got, want) {
		t.Errorf("frames = %q; want %q", got, want)
	}
	st := src.Stats()
	if st.Skipped != 2*len(tests) || !st.Healthy {
		t.Errorf("Stats = %+v; want %d skipped (two passes), healthy", st, 2*len(tests))
	}
	// Each bad file is reported once, not on every pass.
	if n := rec.count("camera skips unreadable image"); n != len(tests) {
		t.Errorf("%d warnings about unreadable images; want %d", n, len(tests))
	}
}

func TestFolderPacing(t *testing.T) {
	dir := t.TempDir()
	copyPhoto(t, dir, "a.jpg", "obama2.jpg")
	const fps, n = 20.0, 6
	src := mustOpen(t, dir, Options{Loop: true, FPS: fps})
	start := time.Now()
	names(t, src, n)
	// The first frame is due at once, each later one a period after the
	// one before. Only the lower bound is a property of the source; how
	// much later frames come depends on the machine.
	if least := time.Duration(n-1) * time.Second / fps; time.Since(start) < least {
		t.Errorf("%d frames at %v fps took %v; want at least %v", n, fps, time.Since(start), least)
	}
	if st := src.Stats(); st.FPS <= 0 {
		t.Errorf("Stats.FPS = %.2f; want a rate", st.FPS)
	}
}

func TestFolderEmpty(t *testing.T) {
	t.Run("without loop ends at once", func(t *testing.T) {
		src := mustOpen(t, t.TempDir(), Options{})
		if _, err := src.Read(context.Background()); !errors.Is(err, ErrEndOfStream) {
			t.Errorf("Read = %v; want ErrEndOfStream", err)
		}
	})
	t.Run("with loop waits for images", func(t *testing.T) {
		dir := t.TempDir()
		src := mustOpen(t, dir, Options{Loop: true})
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		if f, err := src.Read(ctx); !errors.Is(err, context.DeadlineExceeded) {
			f.Close()
			t.Fatalf("Read on an empty folder = %v; want context.DeadlineExceeded", err)
		}
		if st := src.Stats(); st.Healthy || !strings.Contains(st.LastError, "no readable") {
			t.Errorf("Stats = %+v; want unhealthy with the reason", st)
		}
		copyPhoto(t, dir, "late.jpg", "biden.jpg")
		f := readFrame(t, src, 10*time.Second)
		defer f.Close()
		if f.Name != "late.jpg" || !src.Stats().Healthy {
			t.Errorf("Read = %q, healthy %v; want late.jpg, healthy", f.Name, src.Stats().Healthy)
		}
	})
}

// A folder on a USB stick that is pulled out is a fault that Read reports
// and that ends when the folder is back.
func TestFolderRemovedAndBack(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "lane")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	copyPhoto(t, dir, "a.jpg", "obama.jpg")
	src := mustOpen(t, dir, Options{Loop: true})
	f := readFrame(t, src, 10*time.Second)
	f.Close()

	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	_, err := src.Read(context.Background())
	if f, ok := errors.AsType[*Fault](err); !ok || f.Op != "list" || !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Read with the folder gone = %v; want a list *Fault wrapping os.ErrNotExist", err)
	}
	if src.Stats().Healthy {
		t.Error("Stats.Healthy = true with the folder gone")
	}

	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	copyPhoto(t, dir, "b.jpg", "biden.jpg")
	f = readFrame(t, src, 10*time.Second)
	defer f.Close()
	if f.Name != "b.jpg" || !src.Stats().Healthy {
		t.Errorf("Read = %q, healthy %v; want b.jpg, healthy", f.Name, src.Stats().Healthy)
	}
}

func TestFolderFitsFramesInsideSize(t *testing.T) {
	dir := t.TempDir()
	copyPhoto(t, dir, "1.jpg", "obama3.jpg") // 1434x2333: decoded at 1/2 size first
	copyPhoto(t, dir, "2.png", "32bit.png")  // 626x1200
	copyPhoto(t, dir, "3.jpg", "obama.jpg")  // 910x1137
	src := mustOpen(t, dir, Options{Width: 640, Height: 480})
	for _, want := range []image.Point{{295, 480}, {250, 480}, {384, 480}} {
		f := readFrame(t, src, 10*time.Second)
		// Within a pixel of the exact aspect ratio.
		if got := frameSize(f); got.Y != want.Y || got.X < want.X-1 || got.X > want.X+1 {
			t.Errorf("%s: size %v; want %v", f.Name, got, want)
		}
		f.Close()
	}
}

func TestFolderReadAndClose(t *testing.T) {
	dir := t.TempDir()
	copyPhoto(t, dir, "a.jpg", "obama.jpg")
	src, err := Open(dir, Options{Loop: true, FPS: 0.5, Logger: testLogger(t, nil)})
	if err != nil {
		t.Fatal(err)
	}
	f := readFrame(t, src, 10*time.Second)
	f.Close()

	t.Run("context ends while pacing", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		if _, err := src.Read(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Read = %v; want context.DeadlineExceeded", err)
		}
	})
	t.Run("Close ends a waiting Read", func(t *testing.T) {
		errc := make(chan error, 1)
		go func() {
			f, err := src.Read(context.Background()) // due in 2 s
			f.Close()
			errc <- err
		}()
		time.Sleep(50 * time.Millisecond)
		if err := src.Close(); err != nil {
			t.Errorf("Close = %v", err)
		}
		if err := <-errc; !errors.Is(err, ErrClosed) {
			t.Errorf("waiting Read = %v; want ErrClosed", err)
		}
	})
	if _, err := src.Read(context.Background()); !errors.Is(err, ErrClosed) {
		t.Errorf("Read after Close = %v; want ErrClosed", err)
	}
	if err := src.Close(); err != nil {
		t.Errorf("second Close = %v; want nil", err)
	}
}
