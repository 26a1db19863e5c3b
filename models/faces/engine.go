package faces

import (
	"context"
	"fmt"
	"slices"
	"sync"

	face "github.com/Kagami/go-face"
)

// dlibFiles are the files go-face loads from Config.ModelDir, whatever the
// models: dlib finds the faces and their landmarks for every model. It loads
// the CNN detector too, which Enroll falls back on when the HOG detector
// finds no face.
var dlibFiles = []string{
	"shape_predictor_5_face_landmarks.dat",
	dlibResNetFile,
	"mmod_human_face_detector.dat",
}

const dlibResNetFile = "dlib_face_recognition_resnet_model_v1.dat"

// Engine finds faces and computes their descriptors. It is safe for
// concurrent use: each call borrows one worker from a pool of
// Config.Workers, so calls run in parallel up to that number and a call
// never waits for a busy worker while another is free.
type Engine struct {
	cfg    Config
	models []Model // Config.Models, looked up
	// pixels reports that some model needs the working image's pixels
	// (the ONNX models align the face themselves).
	pixels bool
	// blaze reports that faces are found by BlazeFace and aligned on
	// FaceMesh's points (Config.Detector); otherwise dlib's HOG detector
	// and landmarks find and align them.
	blaze bool
	// hog reports that the engine finds faces with the HOG detector and
	// runs no dlib model, so its workers load a hogDetector at once and
	// never go-face: LargestFace needs no dlib descriptor.
	hog bool
	// dlibModel reports that one of the models is dlib's, whose
	// descriptor only go-face computes.
	dlibModel bool

	// idle holds the workers not in use; a call takes one and puts it
	// back. all keeps every worker so that Close can free them.
	idle chan *worker
	all  []*worker

	// decoding limits how many images are decoded at once, so that many
	// concurrent uploads cannot hold many decoded images in memory.
	decoding chan struct{}

	// mu guards closed; calls register in inFlight while holding it, so
	// that Close, once it has set closed, can wait for exactly the calls
	// that started before.
	mu       sync.Mutex
	closed   bool
	done     chan struct{} // closed by Close: wakes calls waiting in the pool
	inFlight sync.WaitGroup
}

// worker is one set of loaded models: a dlib recognizer (through go-face,
// loaded on first use when Engine.hog) and a Net for each ONNX model, none
// of which may be used by two calls at once.
type worker struct {
	rec   *face.Recognizer
	onnx  []*onnxEmbedder // one per ONNX model in Engine.models, in order
	hog   *hogDetector    // loaded at once when Engine.hog, otherwise on first use
	blaze *blazeFace      // with mesh, loaded at once when Engine.blaze
	mesh  *faceMesh
}

// loadRecognizer loads go-face's recognizer: dlib's HOG and CNN detectors,
// its five-point shape predictor and its descriptor network.
func loadRecognizer(dir string) (*face.Recognizer, error) {
	rec, err := face.NewRecognizer(dir)
	if err != nil {
		return nil, fmt.Errorf("faces: open: load dlib models from %s: %w", dir, err)
	}
	return rec, nil
}

// recognizer returns the worker's go-face recognizer, loading it on first
// use. An engine that runs no dlib model finds a lane's faces with its
// hogDetector, so a gate's workers never load go-face, and dlib's networks
// take no memory there. Only the call holding the worker may use it.
func (w *worker) recognizer(dir string) (*face.Recognizer, error) {
	if w.rec == nil {
		rec, err := loadRecognizer(dir)
		if err != nil {
			return nil, err
		}
		w.rec = rec
	}
	return w.rec, nil
}

// detector returns the worker's HOG detector, loading it on first use: an
// engine with a dlib model has go-face, and a worker only needs the
// detector of its own when it serves a lane (Engine.LargestFace).
func (w *worker) detector(dir string) (*hogDetector, error) {
	if w.hog == nil {
		hog, err := openHOG(dir)
		if err != nil {
			return nil, err
		}
		w.hog = hog
	}
	return w.hog, nil
}

func (w *worker) close() {
	if w.rec != nil {
		w.rec.Close()
	}
	if w.hog != nil {
		w.hog.Close()
	}
	if w.blaze != nil {
		w.blaze.Close()
	}
	if w.mesh != nil {
		w.mesh.Close()
	}
	for _, o := range w.onnx {
		o.Close()
	}
}

// Open loads the models into Config.Workers workers and returns an Engine
// ready for use. Loading takes about 0.4 s per worker, in parallel. A model
// whose file is missing gives an error wrapping ErrModelMissing that names
// the file and `make models`. The caller must Close the Engine to free the
// models' memory.
func Open(cfg Config) (*Engine, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	models, err := cfg.resolveModels()
	if err != nil {
		return nil, err
	}
	if cfg.BLASThreads > 0 {
		// Not OpenBLAS: nothing to tune, the engine works the same.
		setBLASThreads(cfg.BLASThreads)
	}
	if cfg.OpenCVThreads > 0 {
		setOpenCVThreads(cfg.OpenCVThreads)
	}
	e := &Engine{
		cfg:      cfg,
		models:   models,
		idle:     make(chan *worker, cfg.Workers),
		all:      make([]*worker, cfg.Workers),
		decoding: make(chan struct{}, cfg.Workers),
		done:     make(chan struct{}),
	}
	e.blaze = cfg.Detector == DetectorBlazeFace
	e.pixels = e.blaze
	for _, m := range models {
		e.pixels = e.pixels || m.onnx != nil
		e.dlibModel = e.dlibModel || m.onnx == nil
	}
	e.hog = !e.blaze && !e.dlibModel
	if err := e.loadWorkers(); err != nil {
		return nil, err
	}
	for _, w := range e.all {
		e.idle <- w
	}
	return e, nil
}

// loadWorkers fills e.all, loading the models in parallel: each load is
// mostly single-threaded parsing of the model files.
func (e *Engine) loadWorkers() error {
	errs := make([]error, len(e.all))
	var wg sync.WaitGroup
	for i := range e.all {
		wg.Go(func() {
			w := &worker{}
			e.all[i] = w
			var err error
			switch {
			case e.blaze:
				if w.blaze, err = openBlazeFace(e.cfg.ModelDir); err != nil {
					errs[i] = err
					return
				}
				if w.mesh, err = openFaceMesh(e.cfg.ModelDir); err != nil {
					errs[i] = err
					return
				}
				// go-face is needed only for dlib's descriptor.
				if e.dlibModel {
					if w.rec, err = loadRecognizer(e.cfg.ModelDir); err != nil {
						errs[i] = err
						return
					}
				}
			case e.hog:
				// go-face waits for the first Detect or Enroll
				// (worker.recognizer), which a gate never makes.
				if _, err = w.detector(e.cfg.ModelDir); err != nil {
					errs[i] = err
					return
				}
			default:
				if w.rec, err = loadRecognizer(e.cfg.ModelDir); err != nil {
					errs[i] = err
					return
				}
			}
			for _, m := range e.models {
				if m.onnx == nil {
					continue
				}
				o, err := openONNX(e.cfg.ModelDir, m)
				if err != nil {
					errs[i] = err
					return
				}
				w.onnx = append(w.onnx, o)
			}
		})
	}
	wg.Wait()
	// Every worker fails the same way on a bad model; one message will do.
	if i := slices.IndexFunc(errs, func(err error) bool { return err != nil }); i >= 0 {
		for _, w := range e.all {
			w.close()
		}
		return errs[i]
	}
	// Reading the model files left their parsed copies freed in C's heap.
	trimHeap()
	return nil
}

// Models returns the models the engine computes descriptors with, in the
// order Face.Descriptors lists them.
func (e *Engine) Models() []Model { return slices.Clone(e.models) }

// Config returns the engine's configuration with every default filled in.
func (e *Engine) Config() Config { return e.cfg }

// Alignment returns the alignment of the engine's descriptors by model (see
// Alignment).
func (e *Engine) Alignment(model string) string { return Alignment(e.cfg.Detector, model) }

// Close frees the workers. It waits for calls in flight to finish; calls
// still waiting for a worker or a decoding slot, and all later calls,
// return ErrClosed.
// Close may be called more than once; later calls return nil at once.
func (e *Engine) Close() error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil
	}
	e.closed = true
	close(e.done)
	e.mu.Unlock()

	e.inFlight.Wait()
	for _, w := range e.all {
		w.close()
	}
	e.all = nil
	return nil
}

// enter registers a call, or reports ErrClosed. Every successful enter must be
// matched by a call to e.inFlight.Done.
func (e *Engine) enter() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return ErrClosed
	}
	e.inFlight.Add(1)
	return nil
}

// acquire takes an idle worker, waiting until one is free, ctx is done or
// the engine is closed.
func (e *Engine) acquire(ctx context.Context) (*worker, error) {
	// Checked first so that a cancelled call does not win a free
	// worker by the random choice of select.
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	select {
	case w := <-e.idle:
		return w, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-e.done:
		return nil, ErrClosed
	}
}

// release returns a worker to the pool. The channel holds every worker, so
// this never blocks.
func (e *Engine) release(w *worker) { e.idle <- w }

// startDecoding waits for a decoding slot; the returned function frees it.
func (e *Engine) startDecoding(ctx context.Context) (func(), error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	select {
	case e.decoding <- struct{}{}:
		return func() { <-e.decoding }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-e.done:
		return nil, ErrClosed
	}
}

// recognize runs dlib on a prepared image and returns the faces in the
// original image's coordinates, largest first. With cnn, dlib's CNN detector
// looks again when the HOG detector finds nothing. describe picks the faces
// (by index) that get descriptors; the others have none.
func (e *Engine) recognize(ctx context.Context, src prepared, cnn bool, describe func([]Face) []int) ([]Face, error) {
	w, err := e.acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer e.release(w)
	return e.recognizeWith(w, src, cnn, describe)
}

// recognizeWith is recognize with a worker already held.
func (e *Engine) recognizeWith(w *worker, src prepared, cnn bool, describe func([]Face) []int) ([]Face, error) {
	if e.blaze {
		return e.recognizeBlaze(w, src, describe)
	}
	return e.recognizeDlib(w, src, cnn, describe)
}

// recognizeDlib finds the faces with go-face: dlib's HOG detector (and its
// CNN detector with cnn), its landmarks and its descriptor for every face.
func (e *Engine) recognizeDlib(w *worker, src prepared, cnn bool, describe func([]Face) []int) ([]Face, error) {
	rec, err := w.recognizer(e.cfg.ModelDir)
	if err != nil {
		return nil, err
	}
	found, err := rec.Recognize(src.jpeg)
	if err == nil && len(found) == 0 && cnn {
		found, err = rec.RecognizeCNN(src.jpeg)
	}
	if err != nil {
		return nil, recognizeError(err)
	}
	faces := src.geom.faces(found)
	for _, i := range describe(faces) {
		if err := e.describe(w, src, &faces[i]); err != nil {
			return nil, err
		}
	}
	for i := range faces {
		faces[i].ImageWarning = src.warning
	}
	return faces, nil
}

// describe computes f's descriptor for every model of the engine, and its
// sharpness when the working image's pixels are at hand. A face
// found by BlazeFace that go-face cannot find again has no dlib descriptor.
func (e *Engine) describe(w *worker, src prepared, f *Face) error {
	if err := measureSharpness(src.pixels, f); err != nil {
		return err
	}
	f.Descriptors = make([]Descriptor, 0, len(e.models))
	next := 0 // the next of w.onnx
	for _, m := range e.models {
		d := Descriptor{Model: m.Name, Alignment: Alignment(e.cfg.Detector, m.Name)}
		if m.onnx == nil {
			if !f.hasDlib {
				// go-face did not find the face BlazeFace found.
				continue
			}
			d.Values = slices.Clone(f.dlib[:])
		} else {
			v, err := w.onnx[next].describe(src.pixels, f.align)
			next++
			if err != nil {
				return err
			}
			d.Values = v
		}
		f.Descriptors = append(f.Descriptors, d)
	}
	return nil
}

// first describes the largest face.
func first(faces []Face) []int {
	if len(faces) == 0 {
		return nil
	}
	return []int{0}
}

// all describes every face.
func all(faces []Face) []int {
	idx := make([]int, len(faces))
	for i := range idx {
		idx[i] = i
	}
	return idx
}
