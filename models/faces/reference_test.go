package faces

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"gocv.io/x/gocv"

	"github.com/scenicgate/scenicgate/internal/testenv"
)

// pattern returns fixed test input number seed as a ChipSize x ChipSize BGR
// Mat: the same pixels as pattern() in scripts/models/patterns.py, which
// recorded the models' reference outputs.
func pattern(seed int) gocv.Mat {
	m := gocv.NewMatWithSize(ChipSize, ChipSize, gocv.MatTypeCV8UC3)
	for y := range ChipSize {
		for x := range ChipSize {
			for c := range 3 { // R, G, B
				v := x*(3+seed) + y*(5+2*c) + 37*seed*c + ((x * y) >> (3 + c))
				m.SetUCharAt(y, x*3+(2-c), uint8(v%256))
			}
		}
	}
	return m
}

// reference is a models/<name>.reference.json file: outputs recorded from
// each model's original (the .tflite file MobileFaceNet was converted from)
// on the fixed patterns.
type reference struct {
	Source    string
	Input     string
	Output    string
	Mean      float64
	Scale     float64
	Tolerance float64
	Cases     []struct {
		Pattern int
		Output  []float32
	}
}

// TestONNXMatchesReference runs each ONNX model through OpenCV on the fixed
// patterns and compares its raw output with the reference recorded from the
// model's original. For MobileFaceNet this checks the conversion from
// TensorFlow Lite done by `make models`, which gives different bytes each
// time; for both it checks the input the engine feeds (size, mean, scale,
// RGB order).
func TestONNXMatchesReference(t *testing.T) {
	dir := testenv.ModelDir(t)
	for _, m := range catalogue {
		if m.onnx == nil {
			continue
		}
		t.Run(m.Name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(testenv.Root(), "models", m.Name+".reference.json"))
			if err != nil {
				t.Fatal(err)
			}
			var ref reference
			if err := json.Unmarshal(data, &ref); err != nil {
				t.Fatal(err)
			}
			if ref.Input != m.onnx.Input || ref.Output != m.onnx.Output || ref.Mean != m.onnx.Mean || ref.Scale != m.onnx.Scale {
				t.Fatalf("reference recorded with input %q (x − %v)·%v, output %q; the engine feeds %q (x − %v)·%v, reads %q",
					ref.Input, ref.Mean, ref.Scale, ref.Output, m.onnx.Input, m.onnx.Mean, m.onnx.Scale, m.onnx.Output)
			}
			o, err := openONNX(dir, m)
			if err != nil {
				t.Fatal(err)
			}
			defer o.Close()
			worst := 0.0
			for _, c := range ref.Cases {
				chip := pattern(c.Pattern)
				got, err := o.embed(chip)
				chip.Close()
				if err != nil {
					t.Fatalf("pattern %d: %v", c.Pattern, err)
				}
				if len(got) != len(c.Output) || len(got) != m.Dim {
					t.Fatalf("pattern %d: %d values; reference has %d, model %d", c.Pattern, len(got), len(c.Output), m.Dim)
				}
				for i := range got {
					worst = max(worst, math.Abs(float64(got[i])-float64(c.Output[i])))
				}
			}
			t.Logf("%s: largest difference from %s: %.2g", m.Name, ref.Source, worst)
			if worst > ref.Tolerance {
				t.Errorf("%s differs from its reference (%s) by %.2g; want at most %g", m.Name, ref.Source, worst, ref.Tolerance)
			}
		})
	}
}
