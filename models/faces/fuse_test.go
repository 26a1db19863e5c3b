package faces

import (
	"math"
	"testing"
)

func TestFuse(t *testing.T) {
	cos := Model{Name: "c", Dim: 2, Metric: Cosine}
	euc := Model{Name: "e", Dim: 2, Metric: Euclidean}
	near := func(a, b []float32) bool {
		if len(a) != len(b) {
			return false
		}
		for i := range a {
			if math.Abs(float64(a[i]-b[i])) > 1e-6 {
				return false
			}
		}
		return true
	}
	s := float32(math.Sqrt(0.5))
	for _, c := range []struct {
		name  string
		m     Model
		descs [][]float32
		want  []float32
	}{
		{"cosine normalises each before the mean", cos, [][]float32{{10, 0}, {0, 1}}, []float32{s, s}},
		{"cosine of one is itself, normalised", cos, [][]float32{{3, 4}}, []float32{0.6, 0.8}},
		{"euclidean is the plain mean", euc, [][]float32{{1, 0}, {0, 3}}, []float32{0.5, 1.5}},
		{"a wrong length is left out", euc, [][]float32{{1, 1}, {5, 5, 5}}, []float32{1, 1}},
		{"a zero descriptor is left out of a cosine mean", cos, [][]float32{{0, 0}, {0, 2}}, []float32{0, 1}},
		{"nothing to fuse", cos, nil, nil},
		{"opposites cancel", cos, [][]float32{{1, 0}, {-1, 0}}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := Fuse(c.m, c.descs)
			if (got == nil) != (c.want == nil) || !near(got, c.want) {
				t.Errorf("Fuse(%v) = %v; want %v", c.descs, got, c.want)
			}
		})
	}
	in := [][]float32{{3, 4}}
	Fuse(cos, in)
	if in[0][0] != 3 || in[0][1] != 4 {
		t.Errorf("Fuse modified its input: %v", in)
	}
}
