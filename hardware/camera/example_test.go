package camera_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/scenicgate/scenicgate/hardware/camera"
	"github.com/scenicgate/scenicgate/internal/testenv"
)

// A demo lane plays a folder of photos as if a camera saw them; a real lane
// passes "0", "/dev/video0" or "rtsp://..." instead and reads the same way.
func Example() {
	dir, err := os.MkdirTemp("", "lane")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	for _, name := range []string{"obama.jpg", "biden.jpg"} {
		data, err := os.ReadFile(filepath.Join(testenv.PhotoDir(), name))
		if err != nil {
			fmt.Println(err)
			return
		}
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			fmt.Println(err)
			return
		}
	}

	src, err := camera.Open(dir, camera.Options{
		FPS:    10,
		Width:  640,
		Height: 480,
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer src.Close()

	ctx := context.Background()
	for {
		f, err := src.Read(ctx)
		if errors.Is(err, camera.ErrEndOfStream) {
			break
		}
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("%d %s %dx%d\n", f.Seq, f.Name, f.Mat.Cols(), f.Mat.Rows())
		f.Close() // the frame's Mat is the caller's to free
	}
	st := src.Stats()
	fmt.Println(st.Kind, st.Frames, st.Healthy)
	// Output:
	// 1 biden.jpg 211x480
	// 2 obama.jpg 384x480
	// folder 2 true
}
