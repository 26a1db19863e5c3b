package calibrate

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/scenicgate/scenicgate/gate/matcher"
	"github.com/scenicgate/scenicgate/models/faces"
)

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
	OpenSet         OpenSet
	// Recommended is the threshold for the target 1:N false-accept rate.
	Recommended   float32
	RecommendedOK bool
	// Policy is the one tried in open-set trials, Outcome how it fared.
	Policy  matcher.Policy
	Outcome Outcome
	// Margins are those of correct genuine trials, sorted.
	Margins []float32
}

// Measure measures model m on samples, trying policy p in open-set trials
// and recommending a threshold for a 1:N false-accept rate of target with
// gallery tickets.
func Measure(samples []Sample, m faces.Model, p matcher.Policy, gallery int, target float64) Measurement {
	r := Measurement{Model: m, Pairs: Pairs(samples, m), Policy: p}
	r.EER, r.EERAt, r.EEROK = r.Pairs.EER()
	r.FRR1, _, r.FRR1OK = r.Pairs.FRRAtFAR(0.01)
	r.FRR01, _, r.FRR01OK = r.Pairs.FRRAtFAR(0.001)
	r.Recommended, r.RecommendedOK = r.Pairs.Recommend(target, gallery)
	trials := Trials(samples, m)
	r.OpenSet = TPIRAtFPIR0(trials)
	r.Outcome = Evaluate(trials, p)
	r.Margins = CorrectMargins(trials)
	return r
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
		case a.OpenSet.TPIR != b.OpenSet.TPIR:
			return a.OpenSet.TPIR > b.OpenSet.TPIR
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

// Report writes the models side by side, then each model's rates at the
// given thresholds (by model name; none given: around its recommendation),
// then the recommendation.
func Report(w io.Writer, ms []Measurement, samples []Sample, skipped []Skipped, thresholds map[string][]float32, gallery int, target float64) {
	people := map[string]bool{}
	for _, s := range samples {
		people[s.Person] = true
	}
	fmt.Fprintf(w, "photos: %d of %d people, skipped: %d\n", len(samples), len(people), len(skipped))
	for _, s := range skipped {
		fmt.Fprintf(w, "  skipped %s: %v\n", s.Path, s.Err)
	}
	if len(ms) == 0 {
		return
	}
	fmt.Fprintf(w, "genuine pairs: %d, impostor pairs: %d; distances are euclidean for dlib, cosine distance (1 − similarity) for the others\n\n",
		len(ms[0].Pairs.Genuine), len(ms[0].Pairs.Impostor))

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
	row("open-set TPIR at FPIR 0", func(m Measurement) string {
		return fmt.Sprintf("%s of %d", pct(m.OpenSet.TPIR, m.OpenSet.Genuine > 0), m.OpenSet.Genuine)
	})
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
	row("  visitors admitted", func(m Measurement) string {
		return fmt.Sprintf("%d of %d", m.Outcome.CorrectAccepts, m.Outcome.Genuine)
	})
	row("  visitors taken for another", func(m Measurement) string { return fmt.Sprint(m.Outcome.WrongPerson) })
	row("  strangers admitted", func(m Measurement) string {
		return fmt.Sprintf("%d of %d", m.Outcome.FalseAccepts, m.Outcome.Impostor)
	})
	tw.Flush()

	for _, m := range ms {
		ts := thresholds[m.Model.Name]
		if len(ts) == 0 {
			ts = around(m)
		}
		fmt.Fprintf(w, "\n%s: genuine %s\n%s  impostor %s\n", m.Model.Name, summary(m.Pairs.Genuine),
			strings.Repeat(" ", len(m.Model.Name)), summary(m.Pairs.Impostor))
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
