package faces

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	face "github.com/Kagami/go-face"

	"github.com/scenicgate/scenicgate/internal/testenv"
)

// openOne opens an engine with a single recognizer, so that a test can hold
// the whole pool.
func openOne(t *testing.T) *Engine {
	t.Helper()
	e, err := Open(Config{ModelDir: testenv.ModelDir(t), Workers: 1})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return e
}

func TestCloseTwiceAndAfter(t *testing.T) {
	e := openOne(t)
	photo := testenv.Photo(t, "obama.jpg")
	if _, err := e.Detect(context.Background(), photo); err != nil {
		t.Fatalf("Detect before Close: %v", err)
	}
	if err := e.Close(); err != nil {
		t.Fatalf("first Close() = %v; want nil", err)
	}
	if err := e.Close(); err != nil {
		t.Fatalf("second Close() = %v; want nil", err)
	}
	if _, err := e.Detect(context.Background(), photo); !errors.Is(err, ErrClosed) {
		t.Errorf("Detect after Close error = %v; want %v", err, ErrClosed)
	}
	if _, err := e.Enroll(context.Background(), photo); !errors.Is(err, ErrClosed) {
		t.Errorf("Enroll after Close error = %v; want %v", err, ErrClosed)
	}
	if _, err := e.DetectImage(context.Background(), nil); !errors.Is(err, ErrClosed) {
		t.Errorf("DetectImage after Close error = %v; want %v", err, ErrClosed)
	}
}

// TestCloseWaitsForCalls holds the only recognizer as a running call would:
// a second call waits for it, Close must wake that one with ErrClosed but wait
// for the running one before freeing the recognizers.
func TestCloseWaitsForCalls(t *testing.T) {
	e := openOne(t)
	defer e.Close()
	photo := testenv.Photo(t, "obama.jpg")

	// A call in flight that holds the recognizer.
	if err := e.enter(); err != nil {
		t.Fatalf("enter: %v", err)
	}
	rec, err := e.acquire(context.Background())
	if err != nil {
		t.Fatalf("acquire: %v", err)
	}

	waiting := make(chan error, 1)
	go func() {
		_, err := e.Detect(context.Background(), photo)
		waiting <- err
	}()
	closed := make(chan error, 1)
	go func() { closed <- e.Close() }()

	if err := <-waiting; !errors.Is(err, ErrClosed) {
		t.Errorf("Detect waiting for a recognizer during Close: error = %v; want %v", err, ErrClosed)
	}
	select {
	case err := <-closed:
		t.Fatalf("Close() = %v while a call still held a recognizer; want it to wait", err)
	case <-time.After(100 * time.Millisecond):
	}

	// The running call finishes: its recognizer is still usable.
	if _, err := rec.rec.Recognize(photo); err != nil {
		t.Errorf("Recognize on a held recognizer during Close: %v", err)
	}
	e.release(rec)
	e.inFlight.Done()
	if err := <-closed; err != nil {
		t.Fatalf("Close() = %v; want nil", err)
	}
}

func TestContextWhileWaiting(t *testing.T) {
	e := openOne(t)
	defer e.Close()
	photo := testenv.Photo(t, "obama.jpg")
	rec, err := e.acquire(context.Background())
	if err != nil {
		t.Fatalf("acquire: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := e.Detect(ctx, photo); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Detect with every recognizer busy past its deadline: error = %v; want %v", err, context.DeadlineExceeded)
	}
	e.release(rec)

	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := e.Detect(cancelled, photo); !errors.Is(err, context.Canceled) {
		t.Errorf("Detect with a cancelled context: error = %v; want %v", err, context.Canceled)
	}
	if _, err := e.Detect(context.Background(), photo); err != nil {
		t.Errorf("Detect after the recognizer came back: %v", err)
	}
}

func TestOpenErrors(t *testing.T) {
	models := testenv.ModelDir(t)
	onlyDlib := t.TempDir()
	for _, name := range dlibFiles {
		if err := os.Symlink(filepath.Join(models, name), filepath.Join(onlyDlib, name)); err != nil {
			t.Fatal(err)
		}
	}
	var damaged face.SerializationError
	tests := []struct {
		name    string
		cfg     Config
		want    error
		wantAs  any    // for errors.As, when want is nil
		mention string // the message must name this
	}{
		{"no model folder", Config{}, ErrInvalidConfig, nil, "ModelDir"},
		{"missing model files", Config{ModelDir: t.TempDir()}, ErrModelMissing, nil, "no model"},
		{"negative workers", Config{ModelDir: models, Workers: -1}, ErrInvalidConfig, nil, "Workers"},
		{"negative max side", Config{ModelDir: models, MaxSide: -5}, ErrInvalidConfig, nil, "MaxSide"},
		{"unknown model", Config{ModelDir: models, Models: []string{"arcface"}}, ErrUnknownModel, nil, "arcface"},
		{"model named twice", Config{ModelDir: models, Models: []string{Dlib, "dlib_face_recognition_resnet_model_v1"}}, ErrInvalidConfig, nil, "twice"},
		{"ONNX model not fetched", Config{ModelDir: onlyDlib, Models: []string{MobileFaceNet}, Detector: DetectorHOG}, ErrModelMissing, nil, "make models"},
		{"damaged model file", Config{ModelDir: damagedModels(t, models), Models: []string{Dlib}, Detector: DetectorHOG}, nil, &damaged, "dlib"},
		{"unknown detector", Config{ModelDir: models, Detector: "viola-jones"}, ErrInvalidConfig, nil, "viola-jones"},
		{"detector not fetched", Config{ModelDir: onlyDlib, Models: []string{Dlib}, Detector: DetectorBlazeFace}, ErrModelMissing, nil, "blazeface.onnx"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := Open(tt.cfg)
			if err == nil {
				e.Close()
				t.Fatalf("Open(%+v) = nil error; want one", tt.cfg)
			}
			t.Logf("Open(%s): %v", tt.name, err)
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("Open(%s) = %v; want an error wrapping %v", tt.name, err, tt.want)
			}
			if tt.wantAs != nil && !errors.As(err, tt.wantAs) {
				t.Errorf("Open(%s) = %v (%T); want an error of type %T", tt.name, err, err, tt.wantAs)
			}
			if !strings.Contains(err.Error(), tt.mention) {
				t.Errorf("Open(%s) = %q; want the message to mention %q", tt.name, err, tt.mention)
			}
		})
	}
}

// damagedModels returns a folder with the good dlib models but a truncated
// recognition network.
func damagedModels(t *testing.T, models string) string {
	dir := t.TempDir()
	for _, name := range dlibFiles {
		if name == dlibResNetFile {
			good, err := os.ReadFile(filepath.Join(models, name))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, name), good[:len(good)/3], 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.Symlink(filepath.Join(models, name), filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestPickEnrollFace(t *testing.T) {
	e := &Engine{cfg: Config{MinFaceSize: 80}}
	face := func(size int) Face { return Face{Size: size} }
	tests := []struct {
		name  string
		faces []Face // largest first, as Detect returns them
		want  error
		size  int
	}{
		{"none", nil, ErrNoFace, 0},
		{"one large", []Face{face(200)}, nil, 200},
		{"exactly the minimum", []Face{face(80)}, nil, 80},
		{"one large, one small in the background", []Face{face(200), face(60)}, nil, 200},
		{"two large", []Face{face(200), face(150)}, ErrManyFaces, 0},
		{"only small", []Face{face(79), face(60)}, ErrFaceTooSmall, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := e.pickEnrollFace(tt.faces)
			if !errors.Is(err, tt.want) || (err == nil && got.Size != tt.size) {
				t.Errorf("pickEnrollFace(%v) = size %d, %v; want size %d, %v", tt.faces, got.Size, err, tt.size, tt.want)
			}
		})
	}
}

func TestBLASThreads(t *testing.T) {
	e, err := Open(Config{ModelDir: testenv.ModelDir(t), Workers: 1, BLASThreads: 2})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer e.Close()
	if got := BLASThreads(); got != 2 {
		t.Errorf("BLASThreads() after Open with BLASThreads 2 = %d; want 2 (this build links OpenBLAS)", got)
	}
	setBLASThreads(DefaultBLASThreads)
}
