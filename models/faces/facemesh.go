package faces

import (
	"fmt"
	"image"
	"math"
	"path/filepath"

	"gocv.io/x/gocv"
)

// FaceMesh is MediaPipe's face landmark network (face_landmark.tflite of
// @mediapipe/face_mesh, converted to ONNX by `make models`): given a 192x192
// RGB crop in [0, 1] around a face, upright, it places 468 points on it and
// says how sure it is that the crop shows a face. The engine takes five of
// them — the eye centres, the nose tip and the mouth corners — and aligns the
// face on those onto the template the ONNX embedding models were trained
// with.
const (
	faceMeshFile  = "facemesh.onnx"
	faceMeshInput = 192
	// faceMeshCrop is how much larger than the detector's box the crop is
	// (MediaPipe's own setting): the box holds the eyes to the mouth, the
	// network wants the whole head.
	faceMeshCrop = 1.5
	// faceMeshPresence is the least face-presence score, after the sigmoid,
	// at which a detection is kept: below it the detector's box holds no
	// face the landmarks can be trusted on.
	faceMeshPresence = 0.5
)

// faceMeshNames are the ONNX graph's input and outputs.
var faceMeshNames = struct{ input, landmarks, presence string }{"input_1", "conv2d_21", "conv2d_31"}

// Indexes of the mesh points the alignment uses. Right and left are the
// person's own.
var (
	meshRightEye = []int{33, 133, 159, 145} // outer and inner corner, upper and lower lid
	meshLeftEye  = []int{263, 362, 386, 374}
)

const (
	meshNoseTip          = 1
	meshMouthRightCorner = 61
	meshMouthLeftCorner  = 291
	meshPoints           = 468
)

// faceMesh runs the landmark network. It is not safe for concurrent use:
// each worker has its own.
type faceMesh struct {
	net  gocv.Net
	crop gocv.Mat // the network's input, kept between calls
}

func openFaceMesh(dir string) (*faceMesh, error) {
	net, err := openNet(filepath.Join(dir, faceMeshFile))
	if err != nil {
		return nil, err
	}
	return &faceMesh{net: net, crop: gocv.NewMat()}, nil
}

func (m *faceMesh) Close() {
	m.net.Close()
	m.crop.Close()
}

// meshCrop returns the similarity from img's pixels to the network's input
// for a detection: centred on the detector's box, turned so that the eyes
// are level, and faceMeshCrop times the box's longer side across.
func meshCrop(d detection) similarity {
	re, le := d.kp[kpRightEye], d.kp[kpLeftEye]
	angle := math.Atan2(le.Y-re.Y, le.X-re.X)
	cx, cy := (d.x0+d.x1)/2, (d.y0+d.y1)/2
	k := faceMeshInput / (faceMeshCrop * math.Max(d.width(), d.height()))
	s := similarity{A: k * math.Cos(angle), B: -k * math.Sin(angle)}
	s.TX = faceMeshInput/2 - (s.A*cx - s.B*cy)
	s.TY = faceMeshInput/2 - (s.B*cx + s.A*cy)
	return s
}

// fivePoints places the mesh on the face of detection d in img (8-bit BGR)
// and returns the five alignment points in img's pixels — the right eye's
// centre, the left eye's, the nose tip, the right and the left mouth corner —
// and the network's face-presence score.
func (m *faceMesh) fivePoints(img gocv.Mat, d detection) ([]point, float64, error) {
	s := meshCrop(d)
	if err := warpSimilarity(img, s, faceMeshInput, &m.crop); err != nil {
		return nil, 0, err
	}
	blob := gocv.BlobFromImage(m.crop, 1.0/255, image.Pt(faceMeshInput, faceMeshInput),
		gocv.NewScalar(0, 0, 0, 0), true, false)
	defer blob.Close()
	outs, done, err := forward(m.net, blob, faceMeshNames.input, faceMeshNames.landmarks, faceMeshNames.presence)
	if err != nil {
		return nil, 0, fmt.Errorf("facemesh: %w", err)
	}
	defer done()
	xyz, presence := outs[0], outs[1]
	if len(xyz) != 3*meshPoints || len(presence) != 1 {
		return nil, 0, fmt.Errorf("facemesh: %d landmark values and %d scores; want %d and 1", len(xyz), len(presence), 3*meshPoints)
	}
	at := func(i int) point { return point{float64(xyz[3*i]), float64(xyz[3*i+1])} }
	mean := func(idx []int) point {
		var p point
		for _, i := range idx {
			q := at(i)
			p.X, p.Y = p.X+q.X, p.Y+q.Y
		}
		return point{p.X / float64(len(idx)), p.Y / float64(len(idx))}
	}
	inv := s.inverse()
	pts := []point{
		inv.apply(mean(meshRightEye)),
		inv.apply(mean(meshLeftEye)),
		inv.apply(at(meshNoseTip)),
		inv.apply(at(meshMouthRightCorner)),
		inv.apply(at(meshMouthLeftCorner)),
	}
	return pts, sigmoid(float64(presence[0])), nil
}
