package faces

import (
	"fmt"
	"image"
	"path/filepath"

	"gocv.io/x/gocv"
)

// onnxEmbedder runs one ONNX model with OpenCV's DNN module. A Net is not
// safe for concurrent use, so each worker of the engine has its own.
type onnxEmbedder struct {
	model Model
	net   gocv.Net
}

// openONNX loads model m from dir.
func openONNX(dir string, m Model) (*onnxEmbedder, error) {
	net, err := openNet(filepath.Join(dir, m.File))
	if err != nil {
		return nil, err
	}
	return &onnxEmbedder{model: m, net: net}, nil
}

func (o *onnxEmbedder) Close() error { return o.net.Close() }

// embed returns the raw output of the model for a ChipSize x ChipSize BGR
// chip, as the model gives it (not normalised).
func (o *onnxEmbedder) embed(chip gocv.Mat) ([]float32, error) {
	in := o.model.onnx
	mean := gocv.NewScalar(in.Mean, in.Mean, in.Mean, 0)
	// BlobFromImage computes (x − mean) · scale and, with swapRB, turns
	// OpenCV's BGR into the RGB the models were trained on.
	blob := gocv.BlobFromImage(chip, in.Scale, image.Pt(ChipSize, ChipSize), mean, true, false)
	defer blob.Close()
	o.net.SetInput(blob, in.Input)
	out := o.net.Forward(in.Output)
	defer out.Close()
	if out.Empty() {
		return nil, fmt.Errorf("%s: the model gave no output", o.model.Name)
	}
	vals, err := out.DataPtrFloat32()
	if err != nil {
		return nil, fmt.Errorf("%s: output: %w", o.model.Name, err)
	}
	if len(vals) != o.model.Dim {
		return nil, fmt.Errorf("%s: %d output values; want %d", o.model.Name, len(vals), o.model.Dim)
	}
	return append([]float32(nil), vals...), nil
}

// describe aligns the face with these alignment points in img and returns
// its normalised descriptor. A face aligned on five points (AlignFivePoint)
// is described twice, as it is and mirrored left to right, and the two
// descriptors fused: a face and its mirror image are the same person, and
// their mean is steadier under the pose and lighting of one photo. On the
// East-Asian development photos, with 2,831 strangers in the gallery, it
// raised identification at 1 stranger admitted in 1,000 from 93.3% to 95%
// (README), for one more pass of the model (about 3 ms for MobileFaceNet).
func (o *onnxEmbedder) describe(img gocv.Mat, pts []point) ([]float32, error) {
	chip := gocv.NewMat()
	defer chip.Close()
	if err := alignFace(img, pts, &chip); err != nil {
		return nil, err
	}
	v, err := o.embed(chip)
	if err != nil {
		return nil, err
	}
	if len(pts) == 5 {
		mirrored := gocv.NewMat()
		defer mirrored.Close()
		gocv.Flip(chip, &mirrored, 1)
		m, err := o.embed(mirrored)
		if err != nil {
			return nil, err
		}
		normalize(v)
		normalize(m)
		for i := range v {
			v[i] += m[i]
		}
	}
	normalize(v)
	if !o.model.Valid(v) {
		return nil, fmt.Errorf("%s: the descriptor has values that are not finite, or is zero", o.model.Name)
	}
	return v, nil
}
