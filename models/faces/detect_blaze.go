package faces

import (
	"image"
	"math"
	"slices"

	"gocv.io/x/gocv"
)

// recognizeBlaze finds the faces in a prepared image with BlazeFace, places
// FaceMesh's points on each, and returns them in the original image's
// coordinates, largest first. A detection FaceMesh does not take for a face
// is dropped. describe picks the faces (by index) that get descriptors.
//
// Faces smaller than Config.MinFaceSize are looked for only when the whole
// image, looked at once, shows no face as large (see blazeFace.findFaces):
// a photo for enrollment shows one face large, and the smaller faces behind
// it are not the visitor.
func (e *Engine) recognizeBlaze(w *worker, src prepared, describe func([]Face) []int) ([]Face, error) {
	minWork := float64(e.cfg.MinFaceSize) * float64(src.geom.work.X) / float64(src.geom.orig.Dx())
	dets, err := w.blaze.findFaces(src.pixels, minWork)
	if err != nil {
		return nil, err
	}
	faces := make([]Face, 0, len(dets))
	for _, d := range dets {
		f, ok, err := e.meshFace(w, src.pixels, src.geom, d)
		if err != nil {
			return nil, err
		}
		if ok {
			faces = append(faces, f)
		}
	}
	slices.SortStableFunc(faces, largestFirst)
	for _, i := range describe(faces) {
		if e.dlibModel {
			if err := e.addDlib(w, src.pixels, src.geom, &faces[i]); err != nil {
				return nil, err
			}
		}
		if err := e.describe(w, src, &faces[i]); err != nil {
			return nil, err
		}
	}
	for i := range faces {
		faces[i].ImageWarning = src.warning
	}
	return faces, nil
}

// meshFace turns a detection in the working image img into a Face with
// FaceMesh's alignment points; ok is false when FaceMesh finds no face there.
func (e *Engine) meshFace(w *worker, img gocv.Mat, geom geometry, d detection) (Face, bool, error) {
	pts, presence, err := w.mesh.fivePoints(img, d)
	if err != nil {
		return Face{}, false, err
	}
	if presence < faceMeshPresence {
		return Face{}, false, nil
	}
	f := geom.detected(d)
	geom.setPoints(&f, pts)
	return f, true, nil
}

// largestBlaze is LargestFaceNear with BlazeFace, on a worker already held:
// the detector looks around near (in the original's coordinates) if given,
// else, or when that shows no face of minSize, at the whole frame and, when
// it shows none either, at squares of the frame small enough to find one;
// FaceMesh then places the points of the largest face only.
func (e *Engine) largestBlaze(w *worker, work gocv.Mat, geom geometry, minSize int, near image.Rectangle) (Face, bool, error) {
	minWork := float64(minSize) * float64(geom.work.X) / float64(geom.orig.Dx())
	var dets []detection
	var err error
	if !near.Empty() {
		dets, err = w.blaze.findNear(work, minWork, geom.toWork(near))
	}
	if err == nil && len(dets) == 0 {
		dets, err = w.blaze.findFaces(work, minWork)
	}
	if err != nil || len(dets) == 0 {
		return Face{}, false, err
	}
	found := make([]Face, len(dets))
	for i, d := range dets {
		found[i] = geom.detected(d)
	}
	largest := 0
	for i := range found {
		if largestFirst(found[i], found[largest]) < 0 {
			largest = i
		}
	}
	if found[largest].Size < minSize {
		return Face{}, false, nil
	}
	f, ok, err := e.meshFace(w, work, geom, dets[largest])
	if err != nil || !ok {
		return Face{}, false, err
	}
	if e.dlibModel {
		if err := e.addDlib(w, work, geom, &f); err != nil {
			return Face{}, false, err
		}
	}
	if err := e.describe(w, prepared{pixels: work}, &f); err != nil {
		return Face{}, false, err
	}
	return f, true, nil
}

// addDlib gives f, found by BlazeFace in the working image img, dlib's
// descriptor: go-face, given the part of img around the face (cropMargin),
// finds it again with its own detector and describes it on its own
// landmarks. A face go-face does not find (turned too far for its HOG
// detector) gets none.
func (e *Engine) addDlib(w *worker, img gocv.Mat, geom geometry, f *Face) error {
	r := f.box
	pad := int(math.Ceil(cropMargin * float64(min(r.Dx(), r.Dy()))))
	crop := r.Inset(-pad).Intersect(image.Rect(0, 0, img.Cols(), img.Rows()))
	if crop.Empty() {
		return nil
	}
	part := img.Region(crop)
	defer part.Close()
	src, err := e.encodeMat(part, crop.Size(), orientTopLeft, geom.rect(crop))
	if err != nil {
		return err
	}
	defer src.free()
	found, err := e.recognizeDlib(w, src, false, func([]Face) []int { return nil })
	if err != nil || len(found) == 0 {
		return err
	}
	f.dlib, f.hasDlib = found[0].dlib, true
	return nil
}
