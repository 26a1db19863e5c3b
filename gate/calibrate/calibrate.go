// Package calibrate measures how well faces are told apart on a site's own
// photos, by every embedding model, so that the gate's model and threshold
// are chosen from data rather than guessed. Photos are run through the same
// face engine the gate uses.
//
// The input is a folder with one sub-folder per person, each holding that
// person's photos (JPEG, PNG or WebP). Every pair of photos of one person
// gives a genuine distance; every pair of photos of two people an impostor
// distance.
package calibrate

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/scenicgate/scenicgate/models/faces"
)

// Sample is one photo's face, described by every model of the engine.
type Sample struct {
	Person string
	Path   string
	Face   faces.Face
}

// Skipped is a photo that gave no usable face, and why.
type Skipped struct {
	Path string
	Err  error
}

// photoExts are the file name endings Load reads.
var photoExts = []string{".jpg", ".jpeg", ".png", ".webp"}

// Load reads every photo under dir with the engine, keeping the largest face
// of each. Photos without a usable face are reported, not fatal.
func Load(ctx context.Context, e *faces.Engine, dir string, minFace int) ([]Sample, []Skipped, error) {
	people, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("calibrate: %w", err)
	}
	var samples []Sample
	var skipped []Skipped
	for _, p := range people {
		if !p.IsDir() {
			continue
		}
		files, err := os.ReadDir(filepath.Join(dir, p.Name()))
		if err != nil {
			return nil, nil, fmt.Errorf("calibrate: %w", err)
		}
		for _, f := range files {
			if f.IsDir() || !slices.Contains(photoExts, strings.ToLower(filepath.Ext(f.Name()))) {
				continue
			}
			path := filepath.Join(dir, p.Name(), f.Name())
			img, err := os.ReadFile(path)
			if err != nil {
				return nil, nil, fmt.Errorf("calibrate: %w", err)
			}
			found, err := e.Detect(ctx, img)
			switch {
			case err != nil:
				skipped = append(skipped, Skipped{path, err})
			case len(found) == 0:
				skipped = append(skipped, Skipped{path, faces.ErrNoFace})
			case found[0].Size < minFace:
				skipped = append(skipped, Skipped{path, faces.ErrFaceTooSmall})
			default:
				samples = append(samples, Sample{Person: p.Name(), Path: path, Face: found[0]})
			}
		}
	}
	return samples, skipped, nil
}

// Distances are one model's genuine and impostor distances, each sorted
// ascending.
type Distances struct {
	Model             faces.Model
	Genuine, Impostor []float32
	People            int
}

// Pairs computes every pairwise distance by model m.
func Pairs(samples []Sample, m faces.Model) Distances {
	d := Distances{Model: m}
	people := map[string]bool{}
	for i := range samples {
		people[samples[i].Person] = true
		for j := i + 1; j < len(samples); j++ {
			dist := m.Distance(samples[i].Face.Descriptor(m.Name), samples[j].Face.Descriptor(m.Name))
			if samples[i].Person == samples[j].Person {
				d.Genuine = append(d.Genuine, dist)
			} else {
				d.Impostor = append(d.Impostor, dist)
			}
		}
	}
	slices.Sort(d.Genuine)
	slices.Sort(d.Impostor)
	d.People = len(people)
	return d
}

// Rates are the error rates at one threshold.
type Rates struct {
	Threshold float32
	// FAR is the share of impostor pairs at or below the threshold: the
	// chance that one stranger's face matches one enrolled ticket.
	FAR float64
	// FRR is the share of genuine pairs above the threshold: the chance a
	// visitor's frame fails to match their own ticket.
	FRR float64
	// GalleryFAR is the chance that a stranger matches some ticket in a
	// gallery of the given size, assuming independent comparisons:
	// 1 − (1 − FAR)^N.
	GalleryFAR float64
}

// At returns the rates at threshold t for a gallery of size n.
func (d Distances) At(t float32, n int) Rates {
	r := Rates{Threshold: t}
	if len(d.Impostor) > 0 {
		r.FAR = float64(countAtMost(d.Impostor, t)) / float64(len(d.Impostor))
	}
	if len(d.Genuine) > 0 {
		r.FRR = float64(len(d.Genuine)-countAtMost(d.Genuine, t)) / float64(len(d.Genuine))
	}
	r.GalleryFAR = 1 - math.Pow(1-r.FAR, float64(n))
	return r
}

func countAtMost(sorted []float32, t float32) int {
	return sort.Search(len(sorted), func(i int) bool { return sorted[i] > t })
}

// candidates returns every threshold at which a rate changes: each measured
// distance, and just below the smallest.
func (d Distances) candidates() []float32 {
	ts := make([]float32, 0, len(d.Genuine)+len(d.Impostor)+1)
	ts = append(ts, d.Genuine...)
	ts = append(ts, d.Impostor...)
	slices.Sort(ts)
	ts = slices.Compact(ts)
	if len(ts) > 0 {
		ts = append([]float32{ts[0] - 1e-6}, ts...)
	}
	return ts
}

// EER returns the equal-error rate — where the share of strangers accepted
// equals the share of visitors rejected — and its threshold. Between
// measured thresholds the two rates jump; the EER is taken where
// max(FAR, FRR) is smallest, the usual discrete estimate. ok is false
// without both kinds of pairs.
func (d Distances) EER() (eer float64, at float32, ok bool) {
	if len(d.Genuine) == 0 || len(d.Impostor) == 0 {
		return 0, 0, false
	}
	eer = 2
	for _, t := range d.candidates() {
		r := d.At(t, 1)
		if m := max(r.FAR, r.FRR); m < eer {
			eer, at = m, t
		}
	}
	return eer, at, true
}

// FRRAtFAR returns the share of visitors rejected at the largest threshold
// whose share of strangers accepted is at most far, and that threshold.
func (d Distances) FRRAtFAR(far float64) (frr float64, at float32, ok bool) {
	if len(d.Genuine) == 0 || len(d.Impostor) == 0 {
		return 0, 0, false
	}
	frr, ok = 1, false
	for _, t := range d.candidates() {
		r := d.At(t, 1)
		if r.FAR > far {
			break
		}
		frr, at, ok = r.FRR, t, true
	}
	return frr, at, ok
}

// Recommend returns the largest threshold whose 1:N false-accept rate for a
// gallery of size n stays at or below target, looking only at thresholds
// below the nearest impostor pair. With few impostor pairs the measured FAR
// is coarse, so the recommendation also keeps a safety gap below the nearest
// impostor: half the distance between the farthest genuine and the nearest
// impostor pair when the two are apart. ok is false when no threshold
// qualifies, or when the one that does would reject every genuine pair.
func (d Distances) Recommend(target float64, n int) (t float32, ok bool) {
	if len(d.Impostor) == 0 {
		return 0, false
	}
	nearest := d.Impostor[0]
	// The per-pair FAR that keeps the gallery FAR at target.
	perPair := 1 - math.Pow(1-target, 1/float64(n))
	// Among thresholds just below each impostor distance, take the largest
	// whose measured FAR is within perPair.
	best := float32(-1)
	for i, imp := range d.Impostor {
		if float64(i)/float64(len(d.Impostor)) > perPair {
			break
		}
		best = imp - 1e-4
	}
	if best <= 0 {
		return 0, false
	}
	if len(d.Genuine) > 0 && d.Genuine[len(d.Genuine)-1] < nearest {
		best = min(best, (d.Genuine[len(d.Genuine)-1]+nearest)/2)
	}
	if len(d.Genuine) > 0 && d.At(best, n).FRR >= 1 {
		return 0, false // it would turn every visitor away
	}
	return best, true
}

func summary(v []float32) string {
	if len(v) == 0 {
		return "no pairs"
	}
	q := func(p float64) float32 { return v[int(p*float64(len(v)-1))] }
	return fmt.Sprintf("min %.3f  p5 %.3f  median %.3f  p95 %.3f  max %.3f", v[0], q(0.05), q(0.5), q(0.95), v[len(v)-1])
}
