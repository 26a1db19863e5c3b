package camera

import (
	"context"
	"errors"
	"image"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestFileReadsEveryFrameThenEnds(t *testing.T) {
	const n = 12
	path := writeVideo(t, t.TempDir(), n, 640, 480, 10)
	src := mustOpen(t, path, Options{})
	for i := range n {
		f := readFrame(t, src, 10*time.Second)
		if f.Seq != uint64(i+1) || frameSize(f) != image.Pt(640, 480) || f.Name != "" {
			t.Errorf("frame %d: seq %d, size %v, name %q; want seq %d, 640x480, no name", i, f.Seq, frameSize(f), f.Name, i+1)
		}
		f.Close()
	}
	for range 2 {
		if f, err := src.Read(context.Background()); !errors.Is(err, ErrEndOfStream) {
			f.Close()
			t.Fatalf("Read after %d frames = %v; want ErrEndOfStream", n, err)
		}
	}
	if st := src.Stats(); st.Frames != n || st.Kind != KindFile || st.Loops != 0 {
		t.Errorf("Stats = %+v; want %d frames, kind file, no loop", st, n)
	}
}

func TestFileLoops(t *testing.T) {
	path := writeVideo(t, t.TempDir(), 5, 320, 240, 10)
	src := mustOpen(t, path, Options{Loop: true, Width: 160, Height: 160})
	for i := range 12 {
		f := readFrame(t, src, 10*time.Second)
		if f.Seq != uint64(i+1) || frameSize(f) != image.Pt(160, 120) {
			t.Errorf("frame %d: seq %d, size %v; want seq %d, 160x120", i, f.Seq, frameSize(f), i+1)
		}
		f.Close()
	}
	if st := src.Stats(); st.Loops != 2 || st.Frames != 12 || !st.Healthy {
		t.Errorf("Stats = %+v; want 2 loops, 12 frames, healthy", st)
	}
}

// A file cut short (a recording interrupted by a power cut) plays what it
// holds and ends; it neither crashes nor hangs.
func TestFileTruncated(t *testing.T) {
	const n = 20
	path := writeVideo(t, t.TempDir(), n, 640, 480, 10)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, fi.Size()/2); err != nil {
		t.Fatal(err)
	}
	src := mustOpen(t, path, Options{})
	got := 0
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		f, err := src.Read(ctx)
		cancel()
		if errors.Is(err, ErrEndOfStream) {
			break
		}
		if err != nil {
			t.Fatalf("Read = %v after %d frames; want a frame or ErrEndOfStream", err, got)
		}
		f.Close()
		got++
	}
	t.Logf("read %d of %d frames", got, n)
	if got == 0 || got >= n {
		t.Errorf("read %d frames of a file cut in half; want some but fewer than %d", got, n)
	}
}

func TestFileOpenErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		data []byte
	}{
		{"not-a-video.avi", []byte("RIFF but not really a video file")},
		{"empty.mp4", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, tt.name)
			if err := os.WriteFile(path, tt.data, 0o644); err != nil {
				t.Fatal(err)
			}
			src, err := Open(path, Options{Logger: testLogger(t, nil)})
			if f, ok := errors.AsType[*Fault](err); !ok || f.Op != "open" || f.Source != path {
				if src != nil {
					src.Close()
				}
				t.Errorf("Open = %v; want a *Fault for op open", err)
			}
		})
	}
}
