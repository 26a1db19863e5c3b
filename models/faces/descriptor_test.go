package faces

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestDistance(t *testing.T) {
	var zero, unit, three, four, threeFour Descriptor
	unit[127] = 1
	three[0], four[5] = 3, 4
	threeFour[0], threeFour[5] = 3, 4
	tests := []struct {
		name string
		a, b Descriptor
		want float32
	}{
		{"zero to zero", zero, zero, 0},
		{"zero to unit", zero, unit, 1},
		{"unit to zero", unit, zero, 1},
		{"3 and 4 on two axes", three, four, 5},
		{"zero to (3,4)", zero, threeFour, 5},
		{"same vector", threeFour, threeFour, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Distance(tt.a, tt.b); got != tt.want {
				t.Errorf("Distance(%s) = %v; want %v", tt.name, got, tt.want)
			}
			if got := SquaredDistance(tt.a, tt.b); got != tt.want*tt.want {
				t.Errorf("SquaredDistance(%s) = %v; want %v", tt.name, got, tt.want*tt.want)
			}
		})
	}
}

// TestDistanceMatchesFloat64 compares against a plain float64 sum on vectors
// like dlib's (values within about ±0.3).
func TestDistanceMatchesFloat64(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	random := func() Descriptor {
		var d Descriptor
		for i := range d {
			d[i] = float32(rng.Float64()*0.6 - 0.3)
		}
		return d
	}
	for range 1000 {
		a, b := random(), random()
		var sum float64
		for i := range a {
			d := float64(a[i]) - float64(b[i])
			sum += d * d
		}
		want := math.Sqrt(sum)
		if got := float64(Distance(a, b)); math.Abs(got-want) > 1e-5 {
			t.Fatalf("Distance(a, b) = %v; want %v", got, want)
		}
	}
}

func BenchmarkSquaredDistance(b *testing.B) {
	var x, y Descriptor
	for i := range x {
		x[i], y[i] = float32(i)/128, float32(128-i)/128
	}
	var sink float32
	for b.Loop() {
		sink += SquaredDistance(x, y)
	}
	_ = sink
}
