package faces

import "math"

// Fuse returns one descriptor standing for several of the same face, by model
// m: several enrollment photos of a visitor, or the frames of one approach.
// For a Cosine model it is the normalised mean of the L2-normalised
// descriptors, the direction closest on average to all of them; for a
// Euclidean model (dlib) the plain mean, which is the point with the least
// squared distance to them all. Averaging cancels what differs from photo to
// photo (light, pose, expression) and keeps what the face has in every one of
// them.
//
// Descriptors whose length is not m.Dim are left out. Fuse returns nil when
// none is left or when they cancel out to zero. It does not modify descs,
// and the result is a new slice.
func Fuse(m Model, descs [][]float32) []float32 {
	sum := make([]float64, m.Dim)
	n := 0
	for _, d := range descs {
		if len(d) != m.Dim {
			continue
		}
		scale := 1.0
		if m.Metric == Cosine {
			var sq float64
			for _, v := range d {
				sq += float64(v) * float64(v)
			}
			if sq == 0 {
				continue
			}
			scale = 1 / math.Sqrt(sq)
		}
		for i, v := range d {
			sum[i] += float64(v) * scale
		}
		n++
	}
	if n == 0 {
		return nil
	}
	out := make([]float32, m.Dim)
	var sq float64
	for i, s := range sum {
		out[i] = float32(s / float64(n))
		sq += s * s
	}
	if sq == 0 {
		return nil
	}
	if m.Metric == Cosine {
		normalize(out)
	}
	return out
}
