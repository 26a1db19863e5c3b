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
	var ms []Measurement
	for _, m := range e.Models() {
		d := Pairs(samples, m)
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
		ms = append(ms, Measure(samples, m, matcher.DefaultPolicy(m.Threshold, m.Margin), 10000, 0.01))
		if got := ms[len(ms)-1]; got.EER != 0 || got.OpenSet.TPIR != 1 {
			t.Errorf("%s: EER %v, TPIR at FPIR 0 %v; want 0 and 1 on two well-separated people", m.Name, got.EER, got.OpenSet.TPIR)
		}
	}
	var out bytes.Buffer
	Report(&out, ms, samples, skipped, nil, 10000, 0.01)
	wants := []string{"photos: 5 of 2 people", "genuine pairs: 6", "equal-error rate", "open-set TPIR at FPIR 0",
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

// TestOpenSet checks TPIR at FPIR 0 on made-up trials.
func TestOpenSet(t *testing.T) {
	trial := func(genuine bool, person, best string, d float32) Trial {
		return Trial{Genuine: genuine, Person: person, Result: matcher.Result{Best: best, BestDistance: d, Second: "X", SecondDistance: d + 0.2}}
	}
	trials := []Trial{
		trial(true, "a", "a", 0.2),  // found
		trial(true, "b", "b", 0.35), // found
		trial(true, "c", "d", 0.3),  // the wrong person
		trial(true, "e", "e", 0.5),  // beyond the nearest stranger
		trial(false, "f", "a", 0.45),
		trial(false, "g", "b", 0.9),
	}
	o := TPIRAtFPIR0(trials)
	if o.Genuine != 4 || o.Threshold != 0.45 || math.Abs(o.TPIR-0.5) > 1e-9 {
		t.Errorf("TPIRAtFPIR0 = %+v; want 2 of 4 genuine trials below the nearest stranger at 0.45", o)
	}
	if m := CorrectMargins(trials); len(m) != 3 {
		t.Errorf("CorrectMargins = %v; want the 3 correct genuine trials'", m)
	}
}

// TestBest prefers what lets visitors in without strangers, then the lower
// equal-error rate, then the default model.
func TestBest(t *testing.T) {
	m := func(name string, tpir, eer float64) Measurement {
		return Measurement{Model: faces.Model{Name: name}, OpenSet: OpenSet{TPIR: tpir}, EER: eer, EEROK: true, RecommendedOK: true}
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
		trials := Trials(samples, m)
		o := Evaluate(trials, p)
		if o.Genuine != 4 || o.Impostor != 5 {
			t.Fatalf("%s: Evaluate: %d genuine, %d impostor trials; want 4 and 5", m.Name, o.Genuine, o.Impostor)
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
			trials := Trials(samples, m)
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
