package calibrate

import (
	"fmt"
	"io"

	"github.com/scenicgate/scenicgate/gate/matcher"
)

// Outcome counts how a policy fared in open-set 1:N trials.
type Outcome struct {
	// Genuine trials: the probe's person is enrolled (from another photo).
	Genuine, CorrectAccepts, FalseRejects, WrongPerson int
	// Impostor trials: the probe's person is not enrolled.
	Impostor, FalseAccepts int
}

// Evaluate runs the policy's single-frame rule (threshold and margin) over
// every photo as a probe. For a genuine trial the gallery holds one other
// photo of each person, the probe's person included; for an impostor trial
// the probe's person is left out. Agreement over several frames only
// lowers the error rates further; it is not modelled here.
func Evaluate(samples []Sample, p matcher.Policy) Outcome {
	var o Outcome
	for i, probe := range samples {
		for _, withPerson := range []bool{true, false} {
			g := matcher.NewGallery()
			enrolled := map[string]bool{}
			for j, s := range samples {
				if j == i || enrolled[s.Person] || (!withPerson && s.Person == probe.Person) {
					continue
				}
				enrolled[s.Person] = true
				g.Set(s.Person, [][matcher.Dim]float32{[matcher.Dim]float32(s.Face)})
			}
			if withPerson && !enrolled[probe.Person] {
				continue // the person has no other photo to enroll from
			}
			got := p.Candidate(g.Search([matcher.Dim]float32(probe.Face)))
			if withPerson {
				o.Genuine++
				switch got {
				case probe.Person:
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
	}
	return o
}

// ReportPolicy writes an Outcome.
func ReportPolicy(w io.Writer, p matcher.Policy, o Outcome) {
	fmt.Fprintf(w, "policy: threshold %.2f, margin %.2f, single frame, open-set 1:N\n", p.Threshold, p.Margin)
	fmt.Fprintf(w, "  genuine trials %d: correct %d, rejected %d, matched the wrong person %d\n",
		o.Genuine, o.CorrectAccepts, o.FalseRejects, o.WrongPerson)
	fmt.Fprintf(w, "  impostor trials %d: accepted %d\n", o.Impostor, o.FalseAccepts)
}
