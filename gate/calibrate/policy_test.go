package calibrate

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/scenicgate/scenicgate/gate/matcher"
	"github.com/scenicgate/scenicgate/models/faces"
)

// mobileFaceNet is the catalogue's model, for descriptors made up here.
func mobileFaceNet(t *testing.T) faces.Model {
	t.Helper()
	m, err := faces.Lookup(faces.MobileFaceNet)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// direction returns a unit descriptor of m's length: mostly along axis
// main, tilted by tilt towards axis main+1.
func direction(m faces.Model, main int, tilt float64) []float32 {
	v := make([]float32, m.Dim)
	v[main] = float32(math.Cos(tilt))
	v[main+1] = float32(math.Sin(tilt))
	return v
}

func sample(m faces.Model, person, path string, d []float32) Sample {
	return Sample{Person: person, Path: path, Face: faces.Face{Descriptors: []faces.Descriptor{{Model: m.Name, Values: d}}}}
}

// TestEnrollChoosesPhotos checks which photos become a visitor's ticket and
// which are probes, for K of 1 and 2.
func TestEnrollChoosesPhotos(t *testing.T) {
	m := mobileFaceNet(t)
	a := []Sample{ // out of order: Enroll sorts by path
		sample(m, "a", "a/3.jpg", direction(m, 0, 0.3)),
		sample(m, "a", "a/1.jpg", direction(m, 0, 0.1)),
		sample(m, "a", "a/4.jpg", direction(m, 0, 0.4)),
		sample(m, "a", "a/2.jpg", direction(m, 0, 0.2)),
	}
	visitors := append(slices.Clone(a),
		sample(m, "b", "b/1.jpg", direction(m, 10, 0)),
		sample(m, "b", "b/2.jpg", direction(m, 10, 0.2)),
		sample(m, "c", "c/1.jpg", direction(m, 20, 0)),
		Sample{Person: "d", Path: "d/1.jpg"}, // no descriptor by m
	)
	strangers := []Sample{
		sample(m, "s1", "s/s1.jpg", direction(m, 30, 0)),
		sample(m, "s2", "s/s2.jpg", direction(m, 40, 0)),
		sample(m, "s1", "s/s1/1.jpg", direction(m, 50, 0)), // a second s1: one ticket each
	}
	ticket := func(en Enrollment, id string) []float32 {
		for _, tk := range en.Tickets {
			if tk.ID == id {
				return tk.Descriptor
			}
		}
		return nil
	}
	paths := func(ps []Probe) []string {
		var out []string
		for _, p := range ps {
			out = append(out, p.Path)
		}
		return out
	}
	near := func(x, y []float32) bool { return x != nil && m.Distance(x, y) < 1e-6 }

	en := Enroll(visitors, strangers, m, 2)
	if en.WithK != 1 || en.Fewer != 1 || en.Single != 1 || en.Strangers != 2 || len(en.Tickets) != 5 {
		t.Errorf("Enroll(K=2): %d with K, %d fewer, %d single, %d strangers, %d tickets; want 1, 1, 1, 2, 5",
			en.WithK, en.Fewer, en.Single, en.Strangers, len(en.Tickets))
	}
	if got, want := ticket(en, "a"), faces.Fuse(m, [][]float32{a[1].Face.Descriptor(m.Name), a[3].Face.Descriptor(m.Name)}); !near(got, want) {
		t.Errorf("Enroll(K=2): a's ticket is not the fusion of a/1 and a/2")
	}
	if got := ticket(en, "b"); !near(got, direction(m, 10, 0)) {
		t.Errorf("Enroll(K=2): b's ticket is not b/1 alone (b has 2 photos: one to enroll, one to probe)")
	}
	if got := ticket(en, "c"); !near(got, direction(m, 20, 0)) {
		t.Errorf("Enroll(K=2): c's ticket is not c/1")
	}
	if got := ticket(en, strangerTicket("s1")); !near(got, direction(m, 30, 0)) {
		t.Errorf("Enroll(K=2): s1's ticket is not its first photo")
	}
	if got, want := paths(en.Mated), []string{"a/3.jpg", "a/4.jpg", "b/2.jpg"}; !slices.Equal(got, want) {
		t.Errorf("Enroll(K=2): mated probes %v; want %v", got, want)
	}
	if got := paths(en.NonMated); len(got) != 7 {
		t.Errorf("Enroll(K=2): non-mated probes %v; want every visitor photo with a descriptor (7)", got)
	}

	en = Enroll(visitors, strangers, m, 1)
	if en.WithK != 2 || en.Fewer != 0 || en.Single != 1 {
		t.Errorf("Enroll(K=1): %d with K, %d fewer, %d single; want 2, 0, 1", en.WithK, en.Fewer, en.Single)
	}
	if got := ticket(en, "a"); !near(got, a[1].Face.Descriptor(m.Name)) {
		t.Errorf("Enroll(K=1): a's ticket is not a/1")
	}
	if got, want := paths(en.Mated), []string{"a/2.jpg", "a/3.jpg", "a/4.jpg", "b/2.jpg"}; !slices.Equal(got, want) {
		t.Errorf("Enroll(K=1): mated probes %v; want %v", got, want)
	}
}

// TestSearchLeavesOwnTicketOut checks that a non-mated probe never finds its
// own ticket, and that the rest of the gallery, strangers included, is
// searched.
func TestSearchLeavesOwnTicketOut(t *testing.T) {
	m := mobileFaceNet(t)
	visitors := []Sample{
		sample(m, "a", "a/1.jpg", direction(m, 0, 0)),
		sample(m, "a", "a/2.jpg", direction(m, 0, 0.1)),
		sample(m, "b", "b/1.jpg", direction(m, 10, 0)),
		sample(m, "b", "b/2.jpg", direction(m, 10, 0.1)),
	}
	// a's look-alike: nearer a than b is, farther than a's own photos.
	strangers := []Sample{sample(m, "s", "s.jpg", direction(m, 0, 0.5))}
	trials, err := Search(Enroll(visitors, strangers, m, 1))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"a/2.jpg mated": "a", "b/2.jpg mated": "b",
		"a/1.jpg non-mated": strangerTicket("s"), "a/2.jpg non-mated": strangerTicket("s"),
		"b/1.jpg non-mated": "", "b/2.jpg non-mated": ""} // "": anyone but b
	if len(trials) != len(want) {
		t.Fatalf("Search: %d trials; want %d", len(trials), len(want))
	}
	for _, tr := range trials {
		key := tr.Path + " non-mated"
		if tr.Genuine {
			key = tr.Path + " mated"
		}
		w, ok := want[key]
		switch {
		case !ok:
			t.Errorf("Search: unexpected trial %s", key)
		case !tr.Genuine && (tr.Result.Best == tr.Person || tr.Result.Second == tr.Person):
			t.Errorf("Search: %s found its own ticket: %+v", key, tr.Result)
		case w != "" && tr.Result.Best != w:
			t.Errorf("Search: %s best %q; want %q", key, tr.Result.Best, w)
		}
	}
	// Every ticket is back on after the search: a's mated probes, searched
	// again, find a.
	if tr := trials[0]; tr.Result.Best != "a" {
		t.Errorf("Search: first mated trial %+v; want a", tr)
	}
}

// TestStrangersProbedAndSamePerson searches with strangers' photos too:
// each finds anyone but itself, a stranger under two names finds its other
// name until the pair is named as one person, and a visitor who is also
// among the strangers likewise.
func TestStrangersProbedAndSamePerson(t *testing.T) {
	m := mobileFaceNet(t)
	visitors := []Sample{
		sample(m, "a", "a/1.jpg", direction(m, 0, 0)),
		sample(m, "a", "a/2.jpg", direction(m, 0, 0.1)),
	}
	strangers := []Sample{
		sample(m, "s", "s.jpg", direction(m, 10, 0)),
		sample(m, "s_again", "s_again.jpg", direction(m, 10, 0.01)), // s under another name
		sample(m, "a_too", "a_too.jpg", direction(m, 0, 0.3)),       // a among the strangers
		sample(m, "u", "u.jpg", direction(m, 20, 0)),
	}
	best := func(same [][2]string) map[string]string {
		en := Enroll(visitors, strangers, m, 1)
		en.ProbeStrangers(strangers)
		en.SamePerson(same)
		if en.StrangerProbes != 4 {
			t.Fatalf("ProbeStrangers: %d stranger probes; want 4", en.StrangerProbes)
		}
		trials, err := Search(en)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for _, tr := range trials {
			if !tr.Genuine {
				if tr.Result.Best == tr.Person {
					t.Errorf("%s found its own ticket", tr.Path)
				}
				out[tr.Path] = tr.Result.Best
			}
		}
		return out
	}
	got := best(nil)
	if got["s.jpg"] != strangerTicket("s_again") || got["a/1.jpg"] != strangerTicket("a_too") || got["a_too.jpg"] != "a" {
		t.Errorf("without same-person pairs: %v; want s to find s_again, a to find a_too and back", got)
	}
	got = best([][2]string{{"s", "s_again"}, {"a_too", "a"}})
	for path, b := range got {
		if near := (path == "s.jpg" || path == "s_again.jpg") && (b == strangerTicket("s") || b == strangerTicket("s_again")) ||
			(path == "a/1.jpg" || path == "a/2.jpg" || path == "a_too.jpg") && (b == "a" || b == strangerTicket("a_too")); near {
			t.Errorf("with same-person pairs: %s found %s, the same person", path, b)
		}
	}
	// The pairs leave out only during a search: a's mated probe still
	// finds a.
	en := Enroll(visitors, strangers, m, 1)
	en.SamePerson([][2]string{{"a_too", "a"}})
	trials, _ := Search(en)
	if !trials[0].Genuine || trials[0].Result.Best != "a" {
		t.Errorf("mated trial after same-person searches: %+v; want a", trials[0])
	}
}

// TestOperatingPoint checks TPIR and FPIR at fixed FPIRs on made-up trials,
// with and without a margin.
func TestOperatingPoint(t *testing.T) {
	trial := func(genuine bool, person, best string, d, margin float32) Trial {
		return Trial{Genuine: genuine, Person: person, Result: matcher.Result{Best: best, BestDistance: d, Second: "X", SecondDistance: d + margin}}
	}
	trials := []Trial{
		trial(true, "a", "a", 0.20, 0.3),
		trial(true, "b", "b", 0.30, 0.3),
		trial(true, "c", "c", 0.40, 0.05), // margin too small
		trial(true, "d", "x", 0.25, 0.3),  // the wrong person: never a TPIR hit
		trial(true, "e", "e", 0.42, 0.3),
		trial(false, "f", "a", 0.35, 0.3),
		trial(false, "g", "b", 0.10, 0.05), // margin too small
		trial(false, "h", "a", 0.45, 0.3),
		{Genuine: false, Person: "i", Result: matcher.Result{BestDistance: float32(math.Inf(1)), SecondDistance: float32(math.Inf(1))}}, // an empty gallery
	}
	for i, d := range []float32{0.6, 0.7, 0.8, 0.9, 1.0, 1.1} {
		trials = append(trials, trial(false, string(rune('j'+i)), "b", d, 0.3))
	}
	// 5 genuine trials, 10 impostor ones; with margin 0.1 the impostors
	// admissible are at 0.35, 0.45, 0.6 … 1.1 (8).
	tests := []struct {
		margin      float32
		fpir        float64
		limit       float32
		tp, wrong   int
		fa          int
		unlimited   bool
		wantTPIR    float64
		description string
	}{
		{0.1, 0, 0.35, 2, 1, 0, false, 2.0 / 5, "below the nearest admissible impostor: a, b"},
		{0.1, 0.001, 0.35, 2, 1, 0, false, 2.0 / 5, "0.1% of 10 impostors is none"},
		{0.1, 0.1, 0.45, 3, 1, 1, false, 3.0 / 5, "one impostor allowed: below 0.45, which admits e at 0.42"},
		{0.1, 0.5, 0.9, 3, 1, 5, false, 3.0 / 5, "5 of 10 allowed: below 0.9"},
		{0.1, 1, float32(math.Inf(1)), 3, 1, 8, true, 3.0 / 5, "all allowed: the margin alone decides"},
		{0, 0, 0.10, 0, 0, 0, false, 0, "no margin: the impostor at 0.10 comes first"},
	}
	for _, tt := range tests {
		pt := OperatingPoint(trials, tt.margin, tt.fpir)
		o := pt.Outcome
		if !pt.OK || pt.Limit != tt.limit || o.CorrectAccepts != tt.tp || o.WrongPerson != tt.wrong || o.FalseAccepts != tt.fa ||
			math.Abs(o.TPIR()-tt.wantTPIR) > 1e-9 || o.Genuine != 5 || o.Impostor != 10 {
			t.Errorf("OperatingPoint(margin %v, FPIR %v) = limit %v, %+v; want limit %v, %d right, %d wrong, %d impostors (%s)",
				tt.margin, tt.fpir, pt.Limit, o, tt.limit, tt.tp, tt.wrong, tt.fa, tt.description)
		}
		if o.FPIR() > tt.fpir {
			t.Errorf("OperatingPoint(margin %v, FPIR %v): FPIR %v above what was asked", tt.margin, tt.fpir, o.FPIR())
		}
		if tt.unlimited != math.IsInf(float64(pt.Threshold), 1) || (!tt.unlimited && pt.Threshold >= pt.Limit) {
			t.Errorf("OperatingPoint(margin %v, FPIR %v): threshold %v, limit %v", tt.margin, tt.fpir, pt.Threshold, pt.Limit)
		}
	}

	// Two impostors at the same distance: allowing one cannot admit one
	// without the other, so the threshold stays below both.
	tied := []Trial{trial(true, "a", "a", 0.3, 0.3), trial(false, "b", "a", 0.5, 0.3), trial(false, "c", "a", 0.5, 0.3)}
	if pt := OperatingPoint(tied, 0, 0.5); pt.Limit != 0.5 || pt.Outcome.FalseAccepts != 0 || pt.Outcome.CorrectAccepts != 1 {
		t.Errorf("OperatingPoint(tied, FPIR 0.5) = limit %v, %+v; want below 0.5, no impostor, a admitted", pt.Limit, pt.Outcome)
	}
	if got := Nearest(trials, 2); len(got) != 2 || got[0].Person != "g" || got[1].Person != "f" {
		t.Errorf("Nearest(2) = %+v; want g at 0.10, then f at 0.35", got)
	}
	if pt := OperatingPoint(trials[:5], 0.1, 0); pt.OK {
		t.Errorf("OperatingPoint without impostor trials is ok")
	}
}

// TestCorrectMargins keeps the margins of genuine trials that found the
// right person.
func TestCorrectMargins(t *testing.T) {
	trials := []Trial{
		{Genuine: true, Person: "a", Result: matcher.Result{Best: "a", BestDistance: 0.2, Second: "b", SecondDistance: 0.5}},
		{Genuine: true, Person: "a", Result: matcher.Result{Best: "b", BestDistance: 0.2, Second: "a", SecondDistance: 0.5}},
		{Genuine: false, Person: "c", Result: matcher.Result{Best: "a", BestDistance: 0.2, Second: "b", SecondDistance: 0.3}},
	}
	if m := CorrectMargins(trials); len(m) != 1 || math.Abs(float64(m[0])-0.3) > 1e-6 {
		t.Errorf("CorrectMargins = %v; want [0.3]", m)
	}
}

// BenchmarkSearch10000 times the open-set trials of a site-sized gallery:
// 1,000 visitors of 3 photos each and 9,000 strangers, made-up descriptors.
func BenchmarkSearch10000(b *testing.B) {
	m, err := faces.Lookup(faces.MobileFaceNet)
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	random := func() []float32 {
		v := make([]float32, m.Dim)
		for i := range v {
			v[i] = float32(rng.NormFloat64())
		}
		return v
	}
	var visitors, strangers []Sample
	for p := range 1000 {
		for i := range 3 {
			visitors = append(visitors, sample(m, fmt.Sprint("v", p), fmt.Sprint("v", p, "/", i), random()))
		}
	}
	for p := range 9000 {
		strangers = append(strangers, sample(m, fmt.Sprint("s", p), fmt.Sprint("s", p), random()))
	}
	for b.Loop() {
		trials, err := Search(Enroll(visitors, strangers, m, 2))
		if err != nil || len(trials) != 4000 {
			b.Fatalf("Search: %d trials, %v; want 4000", len(trials), err)
		}
	}
}

// TestGateThreshold: the threshold a gate would choose for a calibration's
// gallery is the model's default when tickets lie far apart, and stricter
// when they crowd together, as East-Asian faces do for a model that tells
// them apart poorly.
func TestGateThreshold(t *testing.T) {
	m := mobileFaceNet(t)
	r := rand.New(rand.NewPCG(1, 2))
	tickets := func(spread float64) Enrollment {
		en := Enrollment{Model: m}
		for i := range 200 {
			v := make([]float32, m.Dim)
			v[0] = 1
			for j := 1; j < m.Dim; j++ {
				v[j] = float32(r.NormFloat64() * spread)
			}
			en.Tickets = append(en.Tickets, Ticket{fmt.Sprint("T", i), unit(v)})
		}
		return en
	}
	far, err := gateThreshold(tickets(10), 0.001, m.Threshold)
	if err != nil {
		t.Fatal(err)
	}
	if !far.Measured || far.Threshold != m.Threshold || far.Gallery != 200 {
		t.Errorf("tickets far apart: %+v; want the default %.2f, measured on 200 tickets", far, m.Threshold)
	}
	near, err := gateThreshold(tickets(0.07), 0.001, m.Threshold)
	if err != nil {
		t.Fatal(err)
	}
	if !near.Measured || near.Threshold >= m.Threshold || near.Pairs != 200*199/2 {
		t.Errorf("tickets crowded together: %+v; want a threshold below %.2f from all %d pairs", near, m.Threshold, 200*199/2)
	}
}

func unit(v []float32) []float32 {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	n := float32(math.Sqrt(s))
	for i := range v {
		v[i] /= n
	}
	return v
}
