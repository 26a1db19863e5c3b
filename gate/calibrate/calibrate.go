// Package calibrate measures how well faces are told apart on a site's own
// photos, by every embedding model, so that the gate's model and threshold
// are chosen from data rather than guessed. Photos are run through the same
// face engine the gate uses, and open-set trials through the gate's matcher
// and policy.
//
// The input is a folder with one sub-folder per person, each holding that
// person's photos (JPEG, PNG or WebP): the visitors. Every pair of photos of
// one person gives a genuine distance; every pair of photos of two people an
// impostor distance. Optionally a second folder holds strangers, one photo
// each, who hold tickets in the same gallery as the visitors, as the other
// tickets valid at a scenic area do; they make the gallery as large as a
// site's and the open-set figures as hard.
//
// Open-set trials search one gallery per model: each visitor enrolled from
// their first K photos, fused, and each stranger from their photo. A
// visitor's other photos are mated probes (TPIR); every photo of a visitor,
// searched with that visitor's ticket turned off, is a non-mated probe
// (FPIR): someone without a ticket.
package calibrate

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"

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

func isPhoto(name string) bool {
	return slices.Contains(photoExts, strings.ToLower(filepath.Ext(name)))
}

// photo is one file to read, and whose face it shows.
type photo struct{ person, path string }

// Load reads every photo under dir, one sub-folder per person, with the
// engine, keeping the largest face of each. Photos without a usable face
// are reported, not fatal. Samples keep the order of the folders and their
// files.
func Load(ctx context.Context, e *faces.Engine, dir string, minFace int) ([]Sample, []Skipped, error) {
	people, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("calibrate: %w", err)
	}
	var photos []photo
	for _, p := range people {
		if !p.IsDir() {
			continue
		}
		files, err := os.ReadDir(filepath.Join(dir, p.Name()))
		if err != nil {
			return nil, nil, fmt.Errorf("calibrate: %w", err)
		}
		for _, f := range files {
			if !f.IsDir() && isPhoto(f.Name()) {
				photos = append(photos, photo{p.Name(), filepath.Join(dir, p.Name(), f.Name())})
			}
		}
	}
	return detectAll(ctx, e, photos, minFace)
}

// LoadStrangers reads one photo per person under dir: each photo file
// directly in dir is a person named after the file, each sub-folder a person
// named after the folder, of whom the first photo (by name) is read.
// Strangers hold tickets but are never probed, so one photo each is all
// that is used.
func LoadStrangers(ctx context.Context, e *faces.Engine, dir string, minFace int) ([]Sample, []Skipped, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("calibrate: %w", err)
	}
	var photos []photo
	for _, en := range entries {
		if !en.IsDir() {
			if isPhoto(en.Name()) {
				photos = append(photos, photo{strings.TrimSuffix(en.Name(), filepath.Ext(en.Name())), filepath.Join(dir, en.Name())})
			}
			continue
		}
		files, err := os.ReadDir(filepath.Join(dir, en.Name()))
		if err != nil {
			return nil, nil, fmt.Errorf("calibrate: %w", err)
		}
		for _, f := range files { // ReadDir sorts by name
			if !f.IsDir() && isPhoto(f.Name()) {
				photos = append(photos, photo{en.Name(), filepath.Join(dir, en.Name(), f.Name())})
				break
			}
		}
	}
	return detectAll(ctx, e, photos, minFace)
}

// detectAll runs the engine over photos, as many at a time as there are
// cores (the engine's workers), and returns the usable faces and the rest in
// the order of photos.
func detectAll(ctx context.Context, e *faces.Engine, photos []photo, minFace int) ([]Sample, []Skipped, error) {
	type outcome struct {
		face faces.Face
		err  error // why the photo gave no usable face
		fail error // a file that could not be read: fatal
	}
	out := make([]outcome, len(photos))
	next := make(chan int)
	var wg sync.WaitGroup
	for range runtime.NumCPU() {
		wg.Go(func() {
			for i := range next {
				img, err := os.ReadFile(photos[i].path)
				if err != nil {
					out[i].fail = fmt.Errorf("calibrate: %w", err)
					continue
				}
				found, err := e.Detect(ctx, img)
				switch {
				case err != nil:
					out[i].err = err
				case len(found) == 0:
					out[i].err = faces.ErrNoFace
				case found[0].Size < minFace:
					out[i].err = faces.ErrFaceTooSmall
				default:
					out[i].face = found[0]
				}
			}
		})
	}
	for i := range photos {
		next <- i
	}
	close(next)
	wg.Wait()
	var samples []Sample
	var skipped []Skipped
	for i, o := range out {
		switch {
		case o.fail != nil:
			return nil, nil, o.fail
		case o.err != nil:
			skipped = append(skipped, Skipped{photos[i].path, o.err})
		default:
			samples = append(samples, Sample{Person: photos[i].person, Path: photos[i].path, Face: o.face})
		}
	}
	return samples, skipped, nil
}

// Detection is how many photos of a set gave a face, and how many a face
// large enough to match.
type Detection struct {
	Photos, Found, Usable int
}

// Detected counts the outcome of Load or LoadStrangers: a photo skipped as
// too small had a face; one skipped for any other reason did not.
func Detected(samples []Sample, skipped []Skipped) Detection {
	d := Detection{Photos: len(samples) + len(skipped), Found: len(samples), Usable: len(samples)}
	for _, s := range skipped {
		if errors.Is(s.Err, faces.ErrFaceTooSmall) {
			d.Found++
		}
	}
	return d
}

// Distances are one model's genuine and impostor distances, each sorted
// ascending.
type Distances struct {
	Model             faces.Model
	Genuine, Impostor []float32
	// People is the number of visitors; WithStrangers how many of the
	// impostor pairs pair a visitor with a stranger.
	People, WithStrangers int
}

// Pairs computes every pairwise distance by model m among the visitors,
// and between each visitor and each stranger (impostor pairs too); pairs of
// two strangers are left out, since no figure is about strangers alone and
// their number grows with the square of a large gallery.
func Pairs(visitors, strangers []Sample, m faces.Model) Distances {
	d := Distances{Model: m}
	people := map[string]bool{}
	for i := range visitors {
		people[visitors[i].Person] = true
		a := visitors[i].Face.Descriptor(m.Name)
		for j := i + 1; j < len(visitors); j++ {
			dist := m.Distance(a, visitors[j].Face.Descriptor(m.Name))
			if visitors[i].Person == visitors[j].Person {
				d.Genuine = append(d.Genuine, dist)
			} else {
				d.Impostor = append(d.Impostor, dist)
			}
		}
		for j := range strangers {
			d.Impostor = append(d.Impostor, m.Distance(a, strangers[j].Face.Descriptor(m.Name)))
			d.WithStrangers++
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
