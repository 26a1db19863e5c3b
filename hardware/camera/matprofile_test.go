//go:build matprofile

// This file checks that the sources close every gocv.Mat they create. It
// needs gocv's Mat profile, which only exists under the matprofile build
// tag:
//
//	go test -tags matprofile ./hardware/camera/
//
// Without the tag the file is left out and the other tests run as usual.

package camera

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"gocv.io/x/gocv"
)

func TestNoMatLeaks(t *testing.T) {
	tests := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"folder: frames read, scaled and skipped", func(t *testing.T) {
			dir := t.TempDir()
			copyPhoto(t, dir, "1.jpg", "obama3.jpg")
			writeFile(t, dir, "2.jpg", []byte("not a picture"))
			copyPhoto(t, dir, "3.png", "32bit.png")
			src := mustOpen(t, dir, Options{Loop: true, Width: 320, Height: 240})
			for range 5 {
				f := readFrame(t, src, 10*time.Second)
				f.Close()
			}
		}},
		{"file: read to the end, then looped and closed midway", func(t *testing.T) {
			path := writeVideo(t, t.TempDir(), 4, 320, 240, 10)
			src := mustOpen(t, path, Options{})
			for range 4 {
				f := readFrame(t, src, 10*time.Second)
				f.Close()
			}
			if _, err := src.Read(context.Background()); !errors.Is(err, ErrEndOfStream) {
				t.Fatalf("Read = %v; want ErrEndOfStream", err)
			}
			looped := mustOpen(t, path, Options{Loop: true, Width: 160, Height: 120})
			for range 6 {
				f := readFrame(t, looped, 10*time.Second)
				f.Close()
			}
		}},
		{"stream: closed with a frame waiting", func(t *testing.T) {
			srv := newMJPEGServer(t, "obama.jpg", 10*time.Millisecond)
			src := mustOpen(t, srv.URL, Options{})
			f := readFrame(t, src, 10*time.Second)
			f.Close()
			time.Sleep(50 * time.Millisecond) // let frames arrive and be dropped
		}},
		{"stream: stalled, abandoned and recovered", func(t *testing.T) {
			srv := newMJPEGServer(t, "obama2.jpg", 10*time.Millisecond)
			src := mustOpen(t, srv.URL, fastWatch)
			f := readFrame(t, src, 10*time.Second)
			f.Close()
			srv.pause()
			eventually(t, waitLimit, "reopens", func() bool { return src.Stats().Reopens >= 2 })
			srv.resume()
			f = readFrame(t, src, 10*time.Second)
			f.Close()
			eventually(t, waitLimit, "stuck captures return", func() bool { return src.Stats().Stuck == 0 })
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := gocv.MatProfile.Count()
			t.Run("run", tt.run) // its cleanups close the sources
			if after := gocv.MatProfile.Count(); after != before {
				var stacks strings.Builder
				gocv.MatProfile.WriteTo(&stacks, 1)
				t.Errorf("%d Mats open after the sources closed, %d before; where the open ones were made:\n%s",
					after, before, stacks.String())
			}
		})
	}
}

// The profile sees the Mats a caller holds, so the test above can fail.
func TestMatProfileCountsHeldFrames(t *testing.T) {
	dir := t.TempDir()
	copyPhoto(t, dir, "1.jpg", "obama.jpg")
	src := mustOpen(t, dir, Options{})
	before := gocv.MatProfile.Count()
	f := readFrame(t, src, 10*time.Second)
	if got := gocv.MatProfile.Count(); got != before+1 {
		t.Errorf("holding a frame: %d Mats; want %d", got, before+1)
	}
	f.Close()
	if got := gocv.MatProfile.Count(); got != before {
		t.Errorf("after Frame.Close: %d Mats; want %d", got, before)
	}
}
