package faces

import (
	"encoding/json"
	"fmt"
	"image"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"gocv.io/x/gocv"

	"github.com/scenicgate/scenicgate/internal/testenv"
)

// pattern returns fixed test input number seed as a size x size BGR Mat: the
// same pixels as pattern() in scripts/models/patterns.py, which recorded the
// models' reference outputs.
func pattern(seed, size int) gocv.Mat {
	m := gocv.NewMatWithSize(size, size, gocv.MatTypeCV8UC3)
	for y := range size {
		for x := range size {
			for c := range 3 { // R, G, B
				v := x*(3+seed) + y*(5+2*c) + 37*seed*c + ((x * y) >> (3 + c))
				m.SetUCharAt(y, x*3+(2-c), uint8(v%256))
			}
		}
	}
	return m
}

// reference is a models/<name>.reference.json file: outputs recorded from
// each model's original (the .tflite file a model was converted from, or the
// .onnx file as it was published) on the fixed patterns, whose pixels are fed
// as (x − Mean)·Scale at Size x Size, RGB.
type reference struct {
	Source  string
	Input   string
	Size    int
	Mean    float64
	Scale   float64
	Outputs []struct {
		Name      string
		Tolerance float64
	}
	Cases []struct {
		Pattern int
		Outputs map[string][]float32
	}
}

// readReference reads models/<name>.reference.json.
func readReference(t testing.TB, name string) reference {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(testenv.Root(), "models", name+".reference.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ref reference
	if err := json.Unmarshal(data, &ref); err != nil {
		t.Fatalf("%s.reference.json: %v", name, err)
	}
	if len(ref.Outputs) == 0 || len(ref.Cases) == 0 {
		t.Fatalf("%s.reference.json records no outputs", name)
	}
	return ref
}

// compare returns the largest difference of got from want, failing the test
// when their sizes differ.
func compare(t *testing.T, what string, got, want []float32) float64 {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values; the reference has %d", what, len(got), len(want))
	}
	worst := 0.0
	for i := range got {
		d := math.Abs(float64(got[i]) - float64(want[i]))
		if math.IsNaN(d) {
			d = math.Inf(1)
		}
		worst = max(worst, d)
	}
	return worst
}

// TestONNXMatchesReference runs each ONNX embedding model through OpenCV on
// the fixed patterns and compares its raw output with the reference recorded
// from the model's original. For MobileFaceNet this checks the conversion
// from TensorFlow Lite done by `make models`, which gives different bytes
// each time; for both it checks the input the engine feeds (size, mean,
// scale, RGB order).
func TestONNXMatchesReference(t *testing.T) {
	dir := testenv.ModelDir(t)
	for _, m := range catalogue {
		if m.onnx == nil {
			continue
		}
		t.Run(m.Name, func(t *testing.T) {
			ref := readReference(t, m.Name)
			if ref.Input != m.onnx.Input || len(ref.Outputs) != 1 || ref.Outputs[0].Name != m.onnx.Output ||
				ref.Size != ChipSize || ref.Mean != m.onnx.Mean || ref.Scale != m.onnx.Scale {
				t.Fatalf("reference recorded with input %q %dx%d (x − %v)·%v, outputs %v; the engine feeds %q %dx%d (x − %v)·%v, reads %q",
					ref.Input, ref.Size, ref.Size, ref.Mean, ref.Scale, ref.Outputs, m.onnx.Input, ChipSize, ChipSize, m.onnx.Mean, m.onnx.Scale, m.onnx.Output)
			}
			o, err := openONNX(dir, m)
			if err != nil {
				t.Fatal(err)
			}
			defer o.Close()
			worst := 0.0
			for _, c := range ref.Cases {
				chip := pattern(c.Pattern, ChipSize)
				got, err := o.embed(chip)
				chip.Close()
				if err != nil {
					t.Fatalf("pattern %d: %v", c.Pattern, err)
				}
				if len(got) != m.Dim {
					t.Fatalf("pattern %d: %d values; the model has %d", c.Pattern, len(got), m.Dim)
				}
				worst = max(worst, compare(t, fmt.Sprintf("pattern %d", c.Pattern), got, c.Outputs[m.onnx.Output]))
			}
			t.Logf("%s: largest difference from %s: %.2g", m.Name, ref.Source, worst)
			if worst > ref.Outputs[0].Tolerance {
				t.Errorf("%s differs from its reference (%s) by %.2g; want at most %g", m.Name, ref.Source, worst, ref.Outputs[0].Tolerance)
			}
		})
	}
}

// detectorModels are the face detector and landmark networks `make models`
// always converts, each checked against models/<name>.reference.json.
var detectorModels = []string{"blazeface", "facemesh"}

// detectorNet is one of detectorModels loaded by OpenCV with its reference.
type detectorNet struct {
	ref   reference
	net   gocv.Net
	names []string // the outputs the reference records, in its order
}

// openDetectorNet loads dir/<name>.onnx and checks that every output its
// reference records is one of the network's outputs.
func openDetectorNet(t testing.TB, dir, name string, ref reference) *detectorNet {
	t.Helper()
	path := filepath.Join(dir, name+".onnx")
	net := gocv.ReadNetFromONNX(path)
	if net.Empty() {
		net.Close()
		t.Fatalf("OpenCV cannot load %s (run `make models`)", path)
	}
	if err := net.SetPreferableBackend(gocv.NetBackendOpenCV); err != nil {
		t.Fatal(err)
	}
	if err := net.SetPreferableTarget(gocv.NetTargetCPU); err != nil {
		t.Fatal(err)
	}
	var outs []string
	for _, id := range net.GetUnconnectedOutLayers() {
		l := net.GetLayer(id)
		outs = append(outs, l.GetName())
		l.Close()
	}
	d := &detectorNet{ref: ref, net: net}
	for _, o := range ref.Outputs {
		if !slices.Contains(outs, o.Name) {
			net.Close()
			t.Fatalf("%s has no output %q (it has %q)", path, o.Name, outs)
		}
		d.names = append(d.names, o.Name)
	}
	return d
}

// blob returns the network's input for pattern seed.
func (d *detectorNet) blob(seed int) gocv.Mat {
	img := pattern(seed, d.ref.Size)
	defer img.Close()
	mean := gocv.NewScalar(d.ref.Mean, d.ref.Mean, d.ref.Mean, 0)
	return gocv.BlobFromImage(img, d.ref.Scale, image.Pt(d.ref.Size, d.ref.Size), mean, true, false)
}

// forward runs the network on blob and returns a copy of each output.
func (d *detectorNet) forward(blob gocv.Mat) [][]float32 {
	d.net.SetInput(blob, d.ref.Input)
	outs := d.net.ForwardLayers(d.names)
	vals := make([][]float32, len(outs))
	for i, o := range outs {
		if v, err := o.DataPtrFloat32(); err == nil {
			vals[i] = slices.Clone(v)
		}
		o.Close()
	}
	return vals
}

// TestDetectorModelsMatchReference runs the face detector and landmark
// networks through OpenCV on the fixed patterns and compares every output
// with the reference recorded by the LiteRT interpreter from the .tflite
// file each was converted from. It proves that OpenCV loads and runs the
// converted files and gives the original's numbers for the input recorded in
// the reference (size, mean, scale, RGB order).
func TestDetectorModelsMatchReference(t *testing.T) {
	dir := testenv.ModelDir(t)
	for _, name := range detectorModels {
		t.Run(name, func(t *testing.T) {
			ref := readReference(t, name)
			d := openDetectorNet(t, dir, name, ref)
			defer d.net.Close()
			worst := make([]float64, len(d.names))
			for _, c := range ref.Cases {
				blob := d.blob(c.Pattern)
				got := d.forward(blob)
				blob.Close()
				if len(got) != len(d.names) {
					t.Fatalf("pattern %d: %d outputs; want %d", c.Pattern, len(got), len(d.names))
				}
				for i, n := range d.names {
					want, ok := c.Outputs[n]
					if !ok {
						t.Fatalf("pattern %d: the reference records no %q", c.Pattern, n)
					}
					worst[i] = max(worst[i], compare(t, fmt.Sprintf("pattern %d output %s", c.Pattern, n), got[i], want))
				}
			}
			for i, o := range ref.Outputs {
				t.Logf("%s output %s: largest difference from %s: %.2g", name, o.Name, ref.Source, worst[i])
				if worst[i] > o.Tolerance {
					t.Errorf("%s output %s differs from its reference (%s) by %.2g; want at most %g", name, o.Name, ref.Source, worst[i], o.Tolerance)
				}
			}
		})
	}
}

// BenchmarkDetectorModels times one forward pass of each face detector and
// landmark network on one OpenCV thread, from a ready input blob to a copy
// of every output.
func BenchmarkDetectorModels(b *testing.B) {
	dir := testenv.ModelDir(b)
	setOpenCVThreads(1)
	defer setOpenCVThreads(DefaultOpenCVThreads)
	for _, name := range detectorModels {
		b.Run(name, func(b *testing.B) {
			d := openDetectorNet(b, dir, name, readReference(b, name))
			defer d.net.Close()
			blob := d.blob(0)
			defer blob.Close()
			d.forward(blob) // OpenCV sets the network up on the first pass
			b.ResetTimer()
			for range b.N {
				d.forward(blob)
			}
		})
	}
}
