package calibrate

import (
	"bytes"
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scenicgate/scenicgate/gate/matcher"
	"github.com/scenicgate/scenicgate/internal/testenv"
	"github.com/scenicgate/scenicgate/models/faces"
)

func TestCalibrateOnTestPhotos(t *testing.T) {
	dir := peopleFolder(t)
	os.WriteFile(filepath.Join(dir, "obama", "notes.txt"), []byte("not a photo"), 0o644)
	os.WriteFile(filepath.Join(dir, "obama", "broken.jpg"), []byte("not a photo"), 0o644)
	e := engine(t)
	samples, skipped := load(t, e, dir)
	if len(samples) != 5 || len(skipped) != 1 {
		t.Fatalf("Load: %d samples, %d skipped; want 5 and 1 (the broken file)", len(samples), len(skipped))
	}
	in := Input{Visitors: samples, Skipped: skipped, EnrollPhotos: 1}
	var ms []Measurement
	for _, m := range e.Models() {
		d := Pairs(samples, nil, m)
		if len(d.Genuine) != 6 || len(d.Impostor) != 4 || d.People != 2 {
			t.Fatalf("%s: Pairs: %d genuine, %d impostor, %d people; want 6, 4, 2", m.Name, len(d.Genuine), len(d.Impostor), d.People)
		}
		if d.Genuine[len(d.Genuine)-1] >= d.Impostor[0] {
			t.Errorf("%s: the farthest genuine pair (%.3f) is not closer than the nearest impostor pair (%.3f)",
				m.Name, d.Genuine[len(d.Genuine)-1], d.Impostor[0])
		}
		if r := d.At(m.Threshold, 1); r.FAR != 0 || r.FRR != 0 {
			t.Errorf("%s: At(its default %.2f) = %+v; want no errors on these photos", m.Name, m.Threshold, r)
		}
		if r := d.At(d.Genuine[0]/2, 1); r.FRR != 1 {
			t.Errorf("%s: At(below the nearest genuine pair).FRR = %v; want 1", m.Name, r.FRR)
		}
		if r := d.At(2, 1000); r.FAR != 1 || r.GalleryFAR != 1 {
			t.Errorf("%s: At(2) = %+v; want every impostor accepted", m.Name, r)
		}
		th, ok := d.Recommend(0.01, 10000)
		if !ok || th <= d.Genuine[len(d.Genuine)-1] || th >= d.Impostor[0] {
			t.Errorf("%s: Recommend = %v, %v; want a threshold between the genuine (max %.3f) and impostor (min %.3f) distances",
				m.Name, th, ok, d.Genuine[len(d.Genuine)-1], d.Impostor[0])
		}
		got, err := Measure(in, m, matcher.DefaultPolicy(m.Threshold, m.Margin), 10000, 0.01)
		if err != nil {
			t.Fatal(err)
		}
		ms = append(ms, got)
		if got.EER != 0 || got.tpir0() != 1 {
			t.Errorf("%s: EER %v, TPIR at FPIR 0 %v; want 0 and 1 on two well-separated people", m.Name, got.EER, got.tpir0())
		}
	}
	var out bytes.Buffer
	Report(&out, in, ms, nil, 10000, 0.01)
	wants := []string{"photos: 5 of 2 people", "genuine pairs: 6", "equal-error rate", "open-set TPIR at FPIR 0",
		"open-set TPIR at FPIR ≤ 0.1%", "open-set TPIR at FPIR ≤ 1%", "FPIR: people without a ticket admitted",
		"visitors: 6 photos, a face found in 5", "gallery: 2 tickets, 2 visitors and 0 strangers",
		"from 1 photo(s) (fused): 1", "from their only photo (not probed mated): 1", "3 mated", "5 non-mated",
		"recommended: --face-model", "broken.jpg"}
	for _, m := range e.Models() {
		wants = append(wants, m.Name)
	}
	for _, want := range wants {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
	t.Logf("\n%s", out.String())
}

// TestRates checks the error rates on distances made up to give known
// answers.
func TestRates(t *testing.T) {
	d := Distances{
		Genuine:  []float32{0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0},
		Impostor: []float32{0.55, 0.65, 0.75, 0.85, 0.95, 1.05, 1.15, 1.25, 1.35, 1.45},
	}
	// At 0.6: impostors ≤ 0.6: 1 of 10; genuine above: 4 of 10.
	// At 0.55: 1 of 10 and 5 of 10. The smallest max(FAR, FRR) is at 0.7
	// or 0.65: FAR 2/10, FRR 3/10 at 0.7 and 2/10, 4/10 at 0.65; at 0.75
	// FAR 3/10, FRR 3/10.
	eer, at, ok := d.EER()
	if !ok || math.Abs(eer-0.3) > 1e-9 {
		t.Errorf("EER() = %v at %v, %v; want 0.3", eer, at, ok)
	}
	// FAR ≤ 10%: thresholds up to 0.6 (0.65 lets in a second impostor):
	// FRR at 0.6 is 4 of 10.
	if frr, at, ok := d.FRRAtFAR(0.1); !ok || math.Abs(frr-0.4) > 1e-9 || at != 0.6 {
		t.Errorf("FRRAtFAR(0.1) = %v at %v, %v; want 0.4 at 0.6", frr, at, ok)
	}
	// FAR ≤ 1%: below the nearest impostor: 0.5, FRR 5 of 10.
	if frr, at, ok := d.FRRAtFAR(0.01); !ok || math.Abs(frr-0.5) > 1e-9 || at != 0.5 {
		t.Errorf("FRRAtFAR(0.01) = %v at %v, %v; want 0.5 at 0.5", frr, at, ok)
	}
	if _, _, ok := (Distances{Genuine: d.Genuine}).EER(); ok {
		t.Error("EER() without impostor pairs is ok; want not")
	}
}

func TestRecommendRefusesOverlap(t *testing.T) {
	d := Distances{Genuine: []float32{0.3, 0.5}, Impostor: []float32{0.2, 0.9}}
	if _, ok := d.Recommend(0.001, 1000); ok {
		t.Error("Recommend with an impostor pair nearer than any genuine one succeeded")
	}
}

// TestBest prefers what lets visitors in without strangers, then the lower
// equal-error rate, then the default model.
func TestBest(t *testing.T) {
	m := func(name string, tpir, eer float64) Measurement {
		pt := Point{Outcome: Outcome{Genuine: 100, CorrectAccepts: int(math.Round(100 * tpir))}, OK: true}
		return Measurement{Model: faces.Model{Name: name}, Points: []Point{pt}, EER: eer, EEROK: true, RecommendedOK: true}
	}
	tests := []struct {
		ms   []Measurement
		want int
	}{
		{[]Measurement{m(faces.Dlib, 0.9, 0.01), m(faces.MobileFaceNet, 0.95, 0.02)}, 1},
		{[]Measurement{m(faces.Dlib, 0.9, 0.01), m(faces.MobileFaceNet, 0.9, 0.02)}, 0},
		{[]Measurement{m(faces.Dlib, 1, 0), m(faces.MobileFaceNet, 1, 0), m(faces.FRFeature, 1, 0)}, 1},
		{[]Measurement{{Model: faces.Model{Name: faces.Dlib}}}, -1},
	}
	for i, tt := range tests {
		if got := Best(tt.ms); got != tt.want {
			t.Errorf("case %d: Best = %d; want %d", i, got, tt.want)
		}
	}
}

func TestDefaultPolicyOnTestPhotos(t *testing.T) {
	e := engine(t)
	samples, _ := load(t, e, peopleFolder(t))
	for _, m := range e.Models() {
		p := matcher.DefaultPolicy(m.Threshold, m.Margin)
		trials, err := Search(Enroll(samples, nil, m, 1))
		if err != nil {
			t.Fatal(err)
		}
		o := Evaluate(trials, p)
		if o.Genuine != 3 || o.Impostor != 5 {
			t.Fatalf("%s: Evaluate: %d genuine, %d impostor trials; want 3 and 5", m.Name, o.Genuine, o.Impostor)
		}
		if o.CorrectAccepts != o.Genuine || o.FalseAccepts != 0 {
			t.Errorf("%s: default policy on the test photos: %+v; want every genuine trial accepted and no impostor", m.Name, o)
		}
		// A threshold far too loose lets strangers in: the evaluation can fail.
		loose := p
		loose.Threshold, loose.Margin = 1.9, 0
		if o := Evaluate(trials, loose); o.FalseAccepts == 0 {
			t.Errorf("%s: threshold 1.9 accepted no impostor: %+v", m.Name, o)
		}
	}
}

// TestStrangersShareTheGallery runs calibrate with strangers: obama is the
// visitor, enrolled from two photos; biden, and obama again under another
// name, are strangers. Obama's non-mated probes find his double among the
// strangers, which shows they are searched in the same gallery.
func TestStrangersShareTheGallery(t *testing.T) {
	e := engine(t)
	visitors := t.TempDir()
	os.MkdirAll(filepath.Join(visitors, "obama"), 0o755)
	for _, p := range testenv.People["obama"] {
		os.WriteFile(filepath.Join(visitors, "obama", p), testenv.Photo(t, p), 0o644)
	}
	strangers := t.TempDir()
	os.WriteFile(filepath.Join(strangers, "biden.jpg"), testenv.Photo(t, "biden.jpg"), 0o644)
	os.WriteFile(filepath.Join(strangers, "README.md"), []byte("not a photo"), 0o644)
	os.MkdirAll(filepath.Join(strangers, "double", "more"), 0o755)
	os.WriteFile(filepath.Join(strangers, "double", "a.jpg"), testenv.Photo(t, "obama.jpg"), 0o644)
	os.WriteFile(filepath.Join(strangers, "double", "b.jpg"), testenv.Photo(t, "biden.jpg"), 0o644) // not read: one photo each
	os.MkdirAll(filepath.Join(strangers, "nobody"), 0o755)

	in := Input{StrangersGiven: true, EnrollPhotos: 2}
	in.Visitors, in.Skipped = load(t, e, visitors)
	var err error
	in.Strangers, in.StrangersSkipped, err = LoadStrangers(context.Background(), e, strangers, 80)
	if err != nil {
		t.Fatal(err)
	}
	if len(in.Strangers) != 2 || in.Strangers[0].Person != "biden" || in.Strangers[1].Person != "double" ||
		filepath.Base(in.Strangers[1].Path) != "a.jpg" {
		t.Fatalf("LoadStrangers = %+v; want biden from biden.jpg and double from a.jpg", in.Strangers)
	}
	m := e.Models()[0]
	for _, mm := range e.Models() {
		if mm.Name == faces.DefaultModel {
			m = mm
		}
	}
	r, err := Measure(in, m, matcher.DefaultPolicy(m.Threshold, m.Margin), 10000, 0.01)
	if err != nil {
		t.Fatal(err)
	}
	if en := r.Enrollment; en.WithK != 1 || en.Strangers != 2 || en.Fewer != 0 || en.Single != 0 {
		t.Errorf("enrollment %+v; want obama from 2 photos and 2 strangers", en)
	}
	if o := r.Outcome; o.Genuine != 2 || o.Impostor != 4 || o.FalseAccepts != 4 {
		t.Errorf("default policy: %+v; want 2 mated probes, and obama's 4 photos without his ticket admitted as his double", o)
	}
	// Without the double, obama's probes are admitted as obama, and his
	// photos without his ticket are not admitted at all.
	alone := in
	alone.Strangers = in.Strangers[:1]
	ra, err := Measure(alone, m, matcher.DefaultPolicy(m.Threshold, m.Margin), 10000, 0.01)
	if err != nil {
		t.Fatal(err)
	}
	if o := ra.Outcome; o.CorrectAccepts != 2 || o.Genuine != 2 || o.FalseAccepts != 0 || o.Impostor != 4 {
		t.Errorf("default policy with biden alone as a stranger: %+v; want 2 of 2 admitted, none of 4", o)
	}
	if got := r.Pairs.WithStrangers; got != 8 {
		t.Errorf("visitor–stranger pairs: %d; want 8", got)
	}
	var out bytes.Buffer
	Report(&out, in, []Measurement{r}, nil, 10000, 0.01)
	for _, want := range []string{"strangers: 2 photos", "gallery: 3 tickets, 1 visitors and 2 strangers", "from 2 photo(s) (fused): 1"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
}

// engine opens a face engine with every model, for the package's tests.
func engine(tb testing.TB) *faces.Engine {
	tb.Helper()
	e, err := faces.Open(faces.Config{ModelDir: testenv.ModelDir(tb), Workers: 1})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { e.Close() })
	return e
}

// load runs Load over dir.
func load(tb testing.TB, e *faces.Engine, dir string) ([]Sample, []Skipped) {
	tb.Helper()
	samples, skipped, err := Load(context.Background(), e, dir, 80)
	if err != nil {
		tb.Fatal(err)
	}
	return samples, skipped
}

// peopleFolder lays the test photos out one folder per person.
func peopleFolder(t testing.TB) string {
	dir := t.TempDir()
	for person, photos := range testenv.People {
		os.MkdirAll(filepath.Join(dir, person), 0o755)
		for _, p := range photos {
			if err := os.WriteFile(filepath.Join(dir, person, p), testenv.Photo(t, p), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	return dir
}

// BenchmarkDefaultPolicy reports each model's default policy's accuracy on
// the test photos, for the benchmark report. The timing is of Evaluate
// alone.
func BenchmarkDefaultPolicy(b *testing.B) {
	e := engine(b)
	samples, _ := load(b, e, peopleFolder(b))
	for _, m := range e.Models() {
		b.Run(m.Name, func(b *testing.B) {
			trials, err := Search(Enroll(samples, nil, m, 1))
			if err != nil {
				b.Fatal(err)
			}
			var o Outcome
			for b.Loop() {
				o = Evaluate(trials, matcher.DefaultPolicy(m.Threshold, m.Margin))
			}
			b.ReportMetric(float64(o.Genuine), "genuine-trials")
			b.ReportMetric(float64(o.CorrectAccepts)/float64(o.Genuine), "genuine-accept-rate")
			b.ReportMetric(float64(o.Impostor), "impostor-trials")
			b.ReportMetric(float64(o.FalseAccepts)/float64(o.Impostor), "false-accept-rate")
		})
	}
}
