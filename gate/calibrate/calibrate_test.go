package calibrate

import (
	"bytes"
	"context"
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
	samples, skipped := load(t, dir)
	if len(samples) != 5 || len(skipped) != 1 {
		t.Fatalf("Load: %d samples, %d skipped; want 5 and 1 (the broken file)", len(samples), len(skipped))
	}
	d := Pairs(samples)
	if len(d.Genuine) != 6 || len(d.Impostor) != 4 || d.People != 2 {
		t.Fatalf("Pairs: %d genuine, %d impostor, %d people; want 6, 4, 2", len(d.Genuine), len(d.Impostor), d.People)
	}
	if d.Genuine[len(d.Genuine)-1] >= d.Impostor[0] {
		t.Errorf("the farthest genuine pair (%.3f) is not closer than the nearest impostor pair (%.3f)",
			d.Genuine[len(d.Genuine)-1], d.Impostor[0])
	}
	r := d.At(faces.DlibThreshold, 1)
	if r.FAR != 0 || r.FRR != 0 {
		t.Errorf("At(0.6) = %+v; want no errors on these photos", r)
	}
	if r := d.At(0.01, 1); r.FRR != 1 {
		t.Errorf("At(0.01).FRR = %v; want 1", r.FRR)
	}
	if r := d.At(2, 1000); r.FAR != 1 || r.GalleryFAR != 1 {
		t.Errorf("At(2) = %+v; want every impostor accepted", r)
	}
	th, ok := d.Recommend(0.01, 10000)
	if !ok || th <= d.Genuine[len(d.Genuine)-1] || th >= d.Impostor[0] {
		t.Errorf("Recommend = %v, %v; want a threshold between the genuine (max %.3f) and impostor (min %.3f) distances",
			th, ok, d.Genuine[len(d.Genuine)-1], d.Impostor[0])
	}
	var out bytes.Buffer
	Report(&out, d, skipped, []float32{0.4, 0.5, 0.6}, 10000, 0.01)
	for _, want := range []string{"people: 2", "genuine pairs: 6", "recommended --threshold", "broken.jpg"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
	t.Logf("\n%s", out.String())
}

func TestRecommendRefusesOverlap(t *testing.T) {
	d := Distances{Genuine: []float32{0.3, 0.5}, Impostor: []float32{0.2, 0.9}}
	if _, ok := d.Recommend(0.001, 1000); ok {
		t.Error("Recommend with an impostor pair nearer than any genuine one succeeded")
	}
}

func TestDefaultPolicyOnTestPhotos(t *testing.T) {
	samples, _ := load(t, peopleFolder(t))
	p := matcher.DefaultPolicy()
	o := Evaluate(samples, p)
	if o.Genuine != 4 || o.Impostor != 5 {
		t.Fatalf("Evaluate: %d genuine, %d impostor trials; want 4 and 5", o.Genuine, o.Impostor)
	}
	if o.CorrectAccepts != o.Genuine || o.FalseAccepts != 0 {
		t.Errorf("default policy on the test photos: %+v; want every genuine trial accepted and no impostor", o)
	}
	// A threshold far too loose lets strangers in: the evaluation can fail.
	loose := p
	loose.Threshold, loose.Margin = 1.2, 0
	if o := Evaluate(samples, loose); o.FalseAccepts == 0 {
		t.Errorf("threshold 1.2 accepted no impostor: %+v", o)
	}
	var out bytes.Buffer
	ReportPolicy(&out, p, o)
	t.Logf("\n%s", out.String())
}

// load runs Load over dir with a face engine of its own.
func load(tb testing.TB, dir string) ([]Sample, []Skipped) {
	tb.Helper()
	e, err := faces.Open(faces.Config{ModelDir: testenv.ModelDir(tb), Workers: 1})
	if err != nil {
		tb.Fatal(err)
	}
	defer e.Close()
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

// BenchmarkDefaultPolicy reports the default policy's accuracy on the test
// photos, for the benchmark report. The timing is of Evaluate alone.
func BenchmarkDefaultPolicy(b *testing.B) {
	samples, _ := load(b, peopleFolder(b))
	var o Outcome
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		o = Evaluate(samples, matcher.DefaultPolicy())
	}
	b.ReportMetric(float64(o.Genuine), "genuine-trials")
	b.ReportMetric(float64(o.CorrectAccepts)/float64(o.Genuine), "genuine-accept-rate")
	b.ReportMetric(float64(o.Impostor), "impostor-trials")
	b.ReportMetric(float64(o.FalseAccepts)/float64(o.Impostor), "false-accept-rate")
}
