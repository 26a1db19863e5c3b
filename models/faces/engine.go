package faces

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"

	face "github.com/Kagami/go-face"
)

// modelFiles are the files go-face loads from Config.ModelDir. It loads the
// CNN detector too, although the engine uses dlib's HOG detector only.
var modelFiles = []string{
	"shape_predictor_5_face_landmarks.dat",
	ModelName + ".dat",
	"mmod_human_face_detector.dat",
}

// Engine finds faces and computes their descriptors. It is safe for
// concurrent use: each call borrows one recognizer from a pool of
// Config.Workers, so calls run in parallel up to that number and a call
// never waits for a busy recognizer while another is free.
type Engine struct {
	cfg Config

	// idle holds the recognizers not in use; a call takes one and puts it
	// back. all keeps every recognizer so that Close can free them.
	idle chan *face.Recognizer
	all  []*face.Recognizer

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

// Open loads the models into Config.Workers recognizers and returns an Engine
// ready for use. Loading takes about 0.4 s per recognizer, in parallel. The
// caller must Close the Engine to free the models' memory.
func Open(cfg Config) (*Engine, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	for _, name := range modelFiles {
		// Checked here because dlib's own message for a missing file
		// does not name it.
		if _, err := os.Stat(filepath.Join(cfg.ModelDir, name)); err != nil {
			return nil, fmt.Errorf("faces: open: model file: %w", err)
		}
	}
	if cfg.BLASThreads > 0 {
		// Not OpenBLAS: nothing to tune, the engine works the same.
		setBLASThreads(cfg.BLASThreads)
	}
	e := &Engine{
		cfg:      cfg,
		idle:     make(chan *face.Recognizer, cfg.Workers),
		all:      make([]*face.Recognizer, cfg.Workers),
		decoding: make(chan struct{}, cfg.Workers),
		done:     make(chan struct{}),
	}
	if err := e.loadRecognizers(); err != nil {
		return nil, err
	}
	for _, rec := range e.all {
		e.idle <- rec
	}
	return e, nil
}

// loadRecognizers fills e.all, loading the models in parallel: each load is
// mostly single-threaded parsing of the model files.
func (e *Engine) loadRecognizers() error {
	errs := make([]error, len(e.all))
	var wg sync.WaitGroup
	for i := range e.all {
		wg.Go(func() {
			rec, err := face.NewRecognizer(e.cfg.ModelDir)
			if err != nil {
				errs[i] = fmt.Errorf("faces: open: load models from %s: %w", e.cfg.ModelDir, err)
				return
			}
			e.all[i] = rec
		})
	}
	wg.Wait()
	// Every recognizer fails the same way on a bad model; one message will do.
	if i := slices.IndexFunc(errs, func(err error) bool { return err != nil }); i >= 0 {
		for _, rec := range e.all {
			if rec != nil {
				rec.Close()
			}
		}
		return errs[i]
	}
	return nil
}

// Config returns the engine's configuration with every default filled in.
func (e *Engine) Config() Config { return e.cfg }

// Close frees the recognizers. It waits for calls in flight to finish; calls
// still waiting for a recognizer or a decoding slot, and all later calls,
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
	for _, rec := range e.all {
		rec.Close()
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

// acquire takes an idle recognizer, waiting until one is free, ctx is done
// or the engine is closed.
func (e *Engine) acquire(ctx context.Context) (*face.Recognizer, error) {
	// Checked first so that a cancelled call does not win a free
	// recognizer by the random choice of select.
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	select {
	case rec := <-e.idle:
		return rec, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-e.done:
		return nil, ErrClosed
	}
}

// release returns a recognizer to the pool. The channel holds every
// recognizer, so this never blocks.
func (e *Engine) release(rec *face.Recognizer) { e.idle <- rec }

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
// original image's coordinates, largest first.
func (e *Engine) recognize(ctx context.Context, src prepared) ([]Face, error) {
	rec, err := e.acquire(ctx)
	if err != nil {
		return nil, err
	}
	found, err := rec.Recognize(src.jpeg)
	e.release(rec)
	if err != nil {
		return nil, recognizeError(err)
	}
	return src.geom.faces(found), nil
}
