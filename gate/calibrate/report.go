package calibrate

import (
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"

	"github.com/scenicgate/scenicgate/gate/matcher"
	"github.com/scenicgate/scenicgate/gate/threshold"
	"github.com/scenicgate/scenicgate/models/faces"
)

// Input is what one detector made of the photos: the visitors, who hold
// tickets and are probed, and the strangers, who only hold tickets.
type Input struct {
	Detector                  string
	Visitors, Strangers       []Sample
	Skipped, StrangersSkipped []Skipped
	// StrangersGiven is set when a folder of strangers was read, even if
	// none of them gave a usable face.
	StrangersGiven bool
	// EnrollPhotos is how many photos each visitor is enrolled from.
	EnrollPhotos int
	// ProbeStrangers searches with each stranger's photo too, its ticket
	// left out (Enrollment.ProbeStrangers); SamePerson names people who
	// appear twice (Enrollment.SamePerson).
	ProbeStrangers bool
	SamePerson     [][2]string
	// TargetFPIR, when not 0, is the stranger rate a gate chooses its
	// threshold for from its gallery (gate/threshold): the report gives
	// the threshold a gate holding this gallery would choose, and how it
	// fares.
	TargetFPIR float64
}

// FPIRs are the shares of impostor trials the operating points allow.
var FPIRs = []float64{0, 0.001, 0.01}

// Measurement is everything measured for one model on one set of photos.
type Measurement struct {
	Model faces.Model
	Pairs Distances
	// EER and the threshold it is met at; ok false without both kinds of
	// pairs.
	EER   float64
	EERAt float32
	EEROK bool
	// FRR at a share of strangers accepted of at most 1% and 0.1%.
	FRR1, FRR01     float64
	FRR1OK, FRR01OK bool
	// Enrollment is the gallery the open-set trials ran against (its
	// counts; the descriptors are dropped).
	Enrollment Enrollment
	// Points are the open-set operating points at FPIRs, with the
	// policy's margin.
	Points []Point
	// Recommended is the threshold for the target 1:N false-accept rate.
	Recommended   float32
	RecommendedOK bool
	// Policy is the one tried in open-set trials, Outcome how it fared.
	Policy  matcher.Policy
	Outcome Outcome
	// Margins are those of correct genuine trials, sorted.
	Margins []float32
	// Gate is the threshold a gate holding this gallery chooses for
	// Input.TargetFPIR, and GateOutcome how the policy fares with it.
	Gate        threshold.Choice
	GateOutcome Outcome
	// Nearest are the non-mated searches that came closest to admitting
	// someone, nearest first: worth a look, since a person in both folders
	// (or twice among the strangers) shows up here.
	Nearest []Trial
}

// nearestShown is how many of the nearest non-mated searches a report
// lists.
const nearestShown = 5

// Measure measures model m on in, trying policy p in open-set trials
// against one gallery of every visitor and stranger, and recommending a
// threshold for a 1:N false-accept rate of target with gallery tickets.
func Measure(in Input, m faces.Model, p matcher.Policy, gallery int, target float64) (Measurement, error) {
	r := Measurement{Model: m, Pairs: Pairs(in.Visitors, in.Strangers, m), Policy: p}
	r.EER, r.EERAt, r.EEROK = r.Pairs.EER()
	r.FRR1, _, r.FRR1OK = r.Pairs.FRRAtFAR(0.01)
	r.FRR01, _, r.FRR01OK = r.Pairs.FRRAtFAR(0.001)
	r.Recommended, r.RecommendedOK = r.Pairs.Recommend(target, gallery)
	en := Enroll(in.Visitors, in.Strangers, m, in.EnrollPhotos)
	if in.ProbeStrangers {
		en.ProbeStrangers(in.Strangers)
	}
	en.SamePerson(in.SamePerson)
	trials, err := Search(en)
	if err != nil {
		return r, err
	}
	if in.TargetFPIR > 0 {
		if r.Gate, err = gateThreshold(en, in.TargetFPIR, p.Threshold); err != nil {
			return r, err
		}
		gp := p
		gp.Threshold = r.Gate.Threshold
		r.GateOutcome = Evaluate(trials, gp)
	}
	en.Tickets, en.Mated, en.NonMated = nil, nil, nil
	r.Enrollment = en
	for _, f := range FPIRs {
		r.Points = append(r.Points, OperatingPoint(trials, p.Margin, f))
	}
	r.Outcome = Evaluate(trials, p)
	r.Margins = CorrectMargins(trials)
	r.Nearest = Nearest(trials, nearestShown)
	return r, nil
}

// tpir0 is the identification rate with no stranger admitted.
func (m Measurement) tpir0() float64 {
	if len(m.Points) == 0 {
		return 0
	}
	return m.Points[0].Outcome.TPIR()
}

// Best returns the index of the model to recommend: the one that lets the
// most visitors in without letting a stranger in (TPIR at FPIR 0), then the
// lowest equal-error rate, then the lowest FRR at FAR 0.1%; on a tie the
// default model, for its traceable origin, else the earlier in ms. -1 for
// none.
func Best(ms []Measurement) int {
	best := -1
	better := func(a, b Measurement) bool {
		switch {
		case a.tpir0() != b.tpir0():
			return a.tpir0() > b.tpir0()
		case a.EER != b.EER:
			return a.EER < b.EER
		case a.FRR01 != b.FRR01:
			return a.FRR01 < b.FRR01
		default:
			return a.Model.Name == faces.DefaultModel
		}
	}
	for i, m := range ms {
		if !m.EEROK || !m.RecommendedOK {
			continue
		}
		if best < 0 || better(m, ms[best]) {
			best = i
		}
	}
	return best
}

// Report writes what the detector found, the models side by side, then
// each model's rates at the given thresholds (by model name; none given:
// around its recommendation), then the recommendation.
func Report(w io.Writer, in Input, ms []Measurement, thresholds map[string][]float32, gallery int, target float64) {
	people := map[string]bool{}
	for _, s := range in.Visitors {
		people[s.Person] = true
	}
	if in.Detector != "" {
		fmt.Fprintf(w, "detector: %s\n", in.Detector)
	}
	fmt.Fprintf(w, "photos: %d of %d people, skipped: %d\n", len(in.Visitors), len(people), len(in.Skipped))
	for _, s := range in.Skipped {
		fmt.Fprintf(w, "  skipped %s: %v\n", s.Path, s.Err)
	}
	detection := func(label string, d Detection) {
		fmt.Fprintf(w, "%s: %d photos, a face found in %d (%.1f%%), usable (at least the minimum face size) in %d (%.1f%%)\n",
			label, d.Photos, d.Found, 100*ratio(d.Found, d.Photos), d.Usable, 100*ratio(d.Usable, d.Photos))
	}
	detection("visitors", Detected(in.Visitors, in.Skipped))
	if in.StrangersGiven {
		detection("strangers", Detected(in.Strangers, in.StrangersSkipped))
	}
	if len(ms) == 0 {
		return
	}
	en := ms[0].Enrollment
	fmt.Fprintf(w, "gallery: %d tickets, %d visitors and %d strangers, in one gallery per model\n",
		en.WithK+en.Fewer+en.Single+en.Strangers, en.WithK+en.Fewer+en.Single, en.Strangers)
	fmt.Fprintf(w, "visitors enrolled from %d photo(s) (fused): %d; from fewer, for lack of photos: %d; from their only photo (not probed mated): %d\n",
		en.Photos, en.WithK, en.Fewer, en.Single)
	if len(ms[0].Points) > 0 {
		o := ms[0].Points[0].Outcome
		fmt.Fprintf(w, "probes: %d mated (visitors' photos not enrolled, own ticket in the gallery), %d non-mated (every visitor photo, own ticket left out",
			o.Genuine, o.Impostor-en.StrangerProbes)
		if en.StrangerProbes > 0 {
			fmt.Fprintf(w, "; and %d strangers' photos, own ticket left out", en.StrangerProbes)
		}
		if n := len(in.SamePerson); n > 0 {
			fmt.Fprintf(w, "; %d pairs of names taken for one person", n)
		}
		fmt.Fprintln(w, ")")
	}
	fmt.Fprintf(w, "genuine pairs: %d, impostor pairs: %d (%d of a visitor and a stranger); distances are euclidean for dlib, cosine distance (1 − similarity) for the others\n\n",
		len(ms[0].Pairs.Genuine), len(ms[0].Pairs.Impostor), ms[0].Pairs.WithStrangers)

	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	row := func(label string, cell func(Measurement) string) {
		cells := []string{label}
		for _, m := range ms {
			cells = append(cells, cell(m))
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t")+"\t")
	}
	pct := func(v float64, ok bool) string {
		if !ok {
			return "—"
		}
		return fmt.Sprintf("%.1f%%", 100*v)
	}
	q := func(v []float32, p float64) string {
		if len(v) == 0 {
			return "—"
		}
		return fmt.Sprintf("%.3f", v[int(p*float64(len(v)-1))])
	}
	row("model", func(m Measurement) string { return m.Model.Name })
	row("descriptor", func(m Measurement) string { return fmt.Sprintf("%d, %v", m.Model.Dim, m.Model.Metric) })
	row("genuine median", func(m Measurement) string { return q(m.Pairs.Genuine, 0.5) })
	row("genuine p95", func(m Measurement) string { return q(m.Pairs.Genuine, 0.95) })
	row("genuine max", func(m Measurement) string { return q(m.Pairs.Genuine, 1) })
	row("impostor min", func(m Measurement) string { return q(m.Pairs.Impostor, 0) })
	row("impostor p5", func(m Measurement) string { return q(m.Pairs.Impostor, 0.05) })
	row("impostor median", func(m Measurement) string { return q(m.Pairs.Impostor, 0.5) })
	row("equal-error rate", func(m Measurement) string { return pct(m.EER, m.EEROK) })
	row("FRR at FAR 1%", func(m Measurement) string { return pct(m.FRR1, m.FRR1OK) })
	row("FRR at FAR 0.1%", func(m Measurement) string { return pct(m.FRR01, m.FRR01OK) })
	point := func(i int) func(Measurement) string {
		return func(m Measurement) string {
			if i >= len(m.Points) || !m.Points[i].OK {
				return "—"
			}
			pt := m.Points[i]
			th := "any"
			if !math.IsInf(float64(pt.Limit), 1) {
				th = fmt.Sprintf("< %.3f", pt.Limit)
			}
			return fmt.Sprintf("%s of %d, %s", pct(pt.Outcome.TPIR(), true), pt.Outcome.Genuine, th)
		}
	}
	for i, f := range FPIRs {
		label := "open-set TPIR at FPIR 0"
		if f > 0 {
			label = fmt.Sprintf("open-set TPIR at FPIR ≤ %g%%", 100*f)
		}
		row(label+", threshold", point(i))
	}
	row("recommended threshold", func(m Measurement) string {
		if !m.RecommendedOK {
			return "none"
		}
		return fmt.Sprintf("%.2f", m.Recommended)
	})
	row("default threshold, margin", func(m Measurement) string {
		return fmt.Sprintf("%.2f, %.2f", m.Model.Threshold, m.Model.Margin)
	})
	row("margins of correct matches: p5", func(m Measurement) string { return q(m.Margins, 0.05) })
	row("policy tried: threshold, margin", func(m Measurement) string {
		return fmt.Sprintf("%.2f, %.2f", m.Policy.Threshold, m.Policy.Margin)
	})
	row("  TPIR: visitors admitted as themselves", func(m Measurement) string {
		return fmt.Sprintf("%s, %d of %d", pct(m.Outcome.TPIR(), m.Outcome.Genuine > 0), m.Outcome.CorrectAccepts, m.Outcome.Genuine)
	})
	row("  visitors taken for another", func(m Measurement) string { return fmt.Sprint(m.Outcome.WrongPerson) })
	row("  FPIR: people without a ticket admitted", func(m Measurement) string {
		return fmt.Sprintf("%s, %d of %d", pct(m.Outcome.FPIR(), m.Outcome.Impostor > 0), m.Outcome.FalseAccepts, m.Outcome.Impostor)
	})
	if in.TargetFPIR > 0 {
		row(fmt.Sprintf("gate's threshold for FPIR %g", in.TargetFPIR), func(m Measurement) string {
			return fmt.Sprintf("%.3f, %s", m.Gate.Threshold, m.Gate.Note)
		})
		row("  from tickets, impostor pairs; expected FPIR", func(m Measurement) string {
			return fmt.Sprintf("%d, %d; %.2g", m.Gate.Gallery, m.Gate.Pairs, m.Gate.ExpectedFPIR)
		})
		row("  TPIR: visitors admitted as themselves", func(m Measurement) string {
			o := m.GateOutcome
			return fmt.Sprintf("%s, %d of %d", pct(o.TPIR(), o.Genuine > 0), o.CorrectAccepts, o.Genuine)
		})
		row("  FPIR: people without a ticket admitted", func(m Measurement) string {
			o := m.GateOutcome
			return fmt.Sprintf("%s, %d of %d", pct(o.FPIR(), o.Impostor > 0), o.FalseAccepts, o.Impostor)
		})
	}
	tw.Flush()

	for _, m := range ms {
		ts := thresholds[m.Model.Name]
		if len(ts) == 0 {
			ts = around(m)
		}
		fmt.Fprintf(w, "\n%s: genuine %s\n%s  impostor %s\n", m.Model.Name, summary(m.Pairs.Genuine),
			strings.Repeat(" ", len(m.Model.Name)), summary(m.Pairs.Impostor))
		if len(m.Nearest) > 0 {
			fmt.Fprintf(w, "  nearest searches without the person's own ticket:\n")
			for _, t := range m.Nearest {
				fmt.Fprintf(w, "    %s → %s at %.3f (second %.3f)\n", t.Path, t.Result.Best, t.Result.BestDistance, t.Result.SecondDistance)
			}
		}
		fmt.Fprintf(w, "  %-9s  %-9s  %-9s  %s\n", "threshold", "FAR", "FRR", fmt.Sprintf("FAR with %d tickets", gallery))
		for _, t := range ts {
			r := m.Pairs.At(t, gallery)
			fmt.Fprintf(w, "  %-9.2f  %-9.5f  %-9.5f  %.5f\n", t, r.FAR, r.FRR, r.GalleryFAR)
		}
	}

	fmt.Fprintln(w)
	if i := Best(ms); i >= 0 {
		m := ms[i]
		r := m.Pairs.At(m.Recommended, gallery)
		fmt.Fprintf(w, "recommended: --face-model %s --threshold %.2f (a 1:N false-accept rate of at most %g with %d tickets; measured FRR %.4f)\n",
			m.Model.Name, m.Recommended, target, gallery, r.FRR)
		if m.Model.Caution != "" {
			fmt.Fprintf(w, "caution: %s: %s\n", m.Model.Name, m.Model.Caution)
		}
	} else {
		fmt.Fprintf(w, "no model meets a 1:N false-accept rate of %g with %d tickets on these photos\n", target, gallery)
	}
	if n := len(ms[0].Pairs.Impostor); n < 10000 {
		fmt.Fprintf(w, "note: %d impostor pairs measure a false-accept rate no finer than %.1g; photos of more people measure it better\n",
			n, 1/float64(max(n, 1)))
	}
	if len(ms[0].Points) > 0 {
		if n := ms[0].Points[0].Outcome.Impostor; n > 0 && n < 1000 {
			fmt.Fprintf(w, "note: %d non-mated probes measure an FPIR no finer than %.1g: FPIR ≤ 0.1%% is then FPIR 0\n", n, 1/float64(n))
		}
	}
	fmt.Fprintln(w, "note: open-set thresholds are swept with each model's margin held (the policy tried); TPIR and FPIR are of single frames")
	fmt.Fprintln(w, "note: measure on photos of the site's own visitors; figures from other faces say little about them")
}

// around returns thresholds around a model's recommended (or default)
// threshold, in steps of a tenth of it.
func around(m Measurement) []float32 {
	c := m.Model.Threshold
	if m.RecommendedOK {
		c = m.Recommended
	}
	step := c / 10
	var ts []float32
	for i := -3; i <= 3; i++ {
		if t := c + float32(i)*step; t > 0 {
			ts = append(ts, t)
		}
	}
	return ts
}

// gateThreshold returns the threshold a gate holding en's gallery chooses
// for target: from the same sample of impostor pairs between its tickets
// that the gate draws (gate/node), never above def.
func gateThreshold(en Enrollment, target float64, def float32) (threshold.Choice, error) {
	g, err := gallery(en)
	if err != nil {
		return threshold.Choice{}, err
	}
	d, tickets := g.Impostors(threshold.SamplePairs, 1)
	return threshold.Choose(d, tickets, target, def), nil
}
