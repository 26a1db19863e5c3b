package calibrate

import (
	"math"
	"slices"

	"github.com/scenicgate/scenicgate/gate/matcher"
	"github.com/scenicgate/scenicgate/models/faces"
)

// Trial is one open-set 1:N search: a probe photo against a gallery of one
// other photo per person, with the probe's person enrolled (a genuine trial)
// or left out (an impostor trial).
type Trial struct {
	Genuine bool
	// Person is the probe's person; Best the nearest enrolled person, at
	// Result.BestDistance.
	Person string
	Result matcher.Result
}

// Trials runs every photo as a probe, once with its person enrolled from
// another photo (when there is one) and once without.
func Trials(samples []Sample, m faces.Model) []Trial {
	metric := matcher.Euclidean
	if m.Metric == faces.Cosine {
		metric = matcher.Cosine
	}
	var trials []Trial
	for i, probe := range samples {
		for _, withPerson := range []bool{true, false} {
			g := matcher.NewGallery(m.Dim, metric)
			enrolled := map[string]bool{}
			for j, s := range samples {
				if j == i || enrolled[s.Person] || (!withPerson && s.Person == probe.Person) {
					continue
				}
				enrolled[s.Person] = true
				// Descriptors from the engine have the model's length and
				// finite values, which is all Set checks.
				_ = g.Set(s.Person, [][]float32{s.Face.Descriptor(m.Name)}, true)
			}
			if withPerson && !enrolled[probe.Person] {
				continue // the person has no other photo to enroll from
			}
			res, err := g.Search(probe.Face.Descriptor(m.Name))
			if err != nil {
				continue // not described by m: counted by nobody
			}
			trials = append(trials, Trial{Genuine: withPerson, Person: probe.Person, Result: res})
		}
	}
	return trials
}

// Outcome counts how a policy fared in open-set 1:N trials.
type Outcome struct {
	// Genuine trials: the probe's person is enrolled (from another photo).
	Genuine, CorrectAccepts, FalseRejects, WrongPerson int
	// Impostor trials: the probe's person is not enrolled.
	Impostor, FalseAccepts int
}

// Evaluate applies the policy's single-frame rule (threshold and margin) to
// each trial. Agreement over several frames only lowers the error rates
// further; it is not modelled here.
func Evaluate(trials []Trial, p matcher.Policy) Outcome {
	var o Outcome
	for _, t := range trials {
		got := p.Candidate(t.Result)
		if t.Genuine {
			o.Genuine++
			switch got {
			case t.Person:
				o.CorrectAccepts++
			case "":
				o.FalseRejects++
			default:
				o.WrongPerson++
			}
		} else {
			o.Impostor++
			if got != "" {
				o.FalseAccepts++
			}
		}
	}
	return o
}

// OpenSet is the open-set identification rate at no false positive: with
// the threshold set just below the nearest best match of any impostor
// trial, so that no stranger is let in, the share of genuine trials whose
// best match is the right person within it (TPIR at FPIR 0).
type OpenSet struct {
	TPIR      float64
	Threshold float32
	Genuine   int
}

// TPIRAtFPIR0 measures OpenSet over trials.
func TPIRAtFPIR0(trials []Trial) OpenSet {
	limit := float32(math.Inf(1))
	for _, t := range trials {
		if !t.Genuine && t.Result.Best != "" {
			limit = min(limit, t.Result.BestDistance)
		}
	}
	o := OpenSet{Threshold: limit}
	hits := 0
	for _, t := range trials {
		if !t.Genuine {
			continue
		}
		o.Genuine++
		if t.Result.Best == t.Person && t.Result.BestDistance < limit {
			hits++
		}
	}
	if o.Genuine > 0 {
		o.TPIR = float64(hits) / float64(o.Genuine)
	}
	return o
}

// CorrectMargins returns, sorted, the margin between the right person and
// the second best in every genuine trial whose best match is the right
// person: how much room a margin rule has before it turns visitors away.
func CorrectMargins(trials []Trial) []float32 {
	var out []float32
	for _, t := range trials {
		if t.Genuine && t.Result.Best == t.Person && t.Result.Second != "" {
			out = append(out, t.Result.Margin())
		}
	}
	slices.Sort(out)
	return out
}
