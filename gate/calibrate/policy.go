package calibrate

import (
	"cmp"
	"fmt"
	"math"
	"slices"

	"github.com/scenicgate/scenicgate/gate/matcher"
	"github.com/scenicgate/scenicgate/models/faces"
)

// strangerTicket is the ticket a stranger holds. Visitors' tickets are
// their folder names, which cannot contain a slash, so the two never clash.
func strangerTicket(name string) string { return "stranger/" + name }

// Ticket is one gallery entry: its id and the one descriptor it holds.
type Ticket struct {
	ID         string
	Descriptor []float32
}

// Probe is one photo searched for in the gallery.
type Probe struct {
	Person, Path string
	Descriptor   []float32
}

// Enrollment is the gallery of one model and the searches run against it,
// as a scenic area would hold them: every visitor with a ticket enrolled
// from their first photos (by file name), every stranger with a ticket
// enrolled from their one photo.
type Enrollment struct {
	Model   faces.Model
	Photos  int // the K asked for
	Tickets []Ticket
	// Mated probes are visitors' photos not used to enroll them, searched
	// with their ticket in the gallery. NonMated probes are every photo of
	// every visitor, searched with that visitor's ticket left out: the
	// gallery then holds nothing of them, as for someone without a ticket.
	Mated, NonMated []Probe
	// WithK visitors were enrolled from K photos (they had at least K+1);
	// Fewer from fewer (they had 2 to K: all but one, which is their
	// probe); Single had one photo, enrolled from it, and so are only
	// non-mated probes.
	WithK, Fewer, Single int
	Strangers            int
	// StrangerProbes is how many of NonMated are strangers' photos (see
	// ProbeStrangers).
	StrangerProbes int
	// Same lists, by ticket, the other tickets held by the same person
	// (SamePerson): a non-mated search leaves them all out.
	Same map[string][]string
}

// ProbeStrangers adds each stranger's photo to the non-mated probes: a
// search with the stranger's own ticket left out is one more person
// without a ticket at the gate. It makes FPIR far finer than the visitors'
// photos alone can (one in 183 of the East-Asian set), at the cost of
// measuring it partly on faces that are not the site's visitors.
func (en *Enrollment) ProbeStrangers(strangers []Sample) {
	seen := map[string]bool{}
	for _, s := range strangers {
		d := s.Face.Descriptor(en.Model.Name)
		if d == nil || seen[s.Person] {
			continue
		}
		seen[s.Person] = true
		en.NonMated = append(en.NonMated, Probe{Person: strangerTicket(s.Person), Path: s.Path, Descriptor: d})
		en.StrangerProbes++
	}
}

// SamePerson records that the people named in each pair (visitors' or
// strangers' names) are one person, so that a search for either, without
// a ticket, finds neither ticket: a set of strangers gathered from the web
// holds some people under two names.
func (en *Enrollment) SamePerson(pairs [][2]string) {
	if en.Same == nil {
		en.Same = map[string][]string{}
	}
	ids := func(name string) []string { return []string{name, strangerTicket(name)} }
	for _, p := range pairs {
		for _, a := range ids(p[0]) {
			en.Same[a] = append(en.Same[a], ids(p[1])...)
		}
		for _, b := range ids(p[1]) {
			en.Same[b] = append(en.Same[b], ids(p[0])...)
		}
	}
}

// Enroll builds the enrollment of model m with k photos per visitor (k ≥ 1),
// fused by faces.Fuse. Samples without a descriptor by m are left out.
func Enroll(visitors, strangers []Sample, m faces.Model, k int) Enrollment {
	k = max(k, 1)
	en := Enrollment{Model: m, Photos: k}
	byPerson := map[string][]Sample{}
	var order []string
	for _, s := range visitors {
		if s.Face.Descriptor(m.Name) == nil {
			continue
		}
		if byPerson[s.Person] == nil {
			order = append(order, s.Person)
		}
		byPerson[s.Person] = append(byPerson[s.Person], s)
	}
	for _, person := range order {
		photos := byPerson[person]
		slices.SortFunc(photos, func(a, b Sample) int {
			switch {
			case a.Path < b.Path:
				return -1
			case a.Path > b.Path:
				return 1
			}
			return 0
		})
		use := k
		switch {
		case len(photos) == 1:
			use = 1
			en.Single++
		case len(photos) <= k:
			use = len(photos) - 1
			en.Fewer++
		default:
			en.WithK++
		}
		descs := make([][]float32, use)
		for i := range use {
			descs[i] = photos[i].Face.Descriptor(m.Name)
		}
		fused := faces.Fuse(m, descs)
		if fused == nil {
			continue // descriptors that cancel out: nothing to enroll
		}
		en.Tickets = append(en.Tickets, Ticket{person, fused})
		for i, s := range photos {
			p := Probe{Person: person, Path: s.Path, Descriptor: s.Face.Descriptor(m.Name)}
			if i >= use {
				en.Mated = append(en.Mated, p)
			}
			en.NonMated = append(en.NonMated, p)
		}
	}
	seen := map[string]bool{}
	for _, s := range strangers {
		d := s.Face.Descriptor(m.Name)
		if d == nil || seen[s.Person] {
			continue
		}
		seen[s.Person] = true
		en.Tickets = append(en.Tickets, Ticket{strangerTicket(s.Person), d})
		en.Strangers++
	}
	return en
}

// Trial is one open-set 1:N search: a probe against the gallery, with the
// probe's person enrolled (a genuine, mated trial) or left out (an
// impostor, non-mated trial).
type Trial struct {
	Genuine bool
	// Person is the probe's person: the ticket a genuine trial should find.
	Person string
	Path   string
	Result matcher.Result
}

// Search builds the enrollment's gallery once, in the gate's matcher, and
// runs every probe against it. A non-mated probe's own ticket is turned off
// for its search alone (Gallery.SetActive), so the gallery is never
// rebuilt. It fails only on a descriptor the gallery refuses.
func Search(en Enrollment) ([]Trial, error) {
	g, err := gallery(en)
	if err != nil {
		return nil, err
	}
	trials := make([]Trial, 0, len(en.Mated)+len(en.NonMated))
	for _, p := range en.Mated {
		res, err := g.Search(p.Descriptor)
		if err != nil {
			return nil, fmt.Errorf("calibrate: %s: %w", p.Path, err)
		}
		trials = append(trials, Trial{Genuine: true, Person: p.Person, Path: p.Path, Result: res})
	}
	for _, p := range en.NonMated {
		out := append([]string{p.Person}, en.Same[p.Person]...)
		var off []string
		for _, id := range out {
			if _, active := g.Has(id); active && g.SetActive(id, false) {
				off = append(off, id)
			}
		}
		res, err := g.Search(p.Descriptor)
		for _, id := range off {
			g.SetActive(id, true)
		}
		if err != nil {
			return nil, fmt.Errorf("calibrate: %s: %w", p.Path, err)
		}
		trials = append(trials, Trial{Genuine: false, Person: p.Person, Path: p.Path, Result: res})
	}
	return trials, nil
}

// gallery returns the gate's matcher gallery of en's tickets.
func gallery(en Enrollment) (*matcher.Gallery, error) {
	metric := matcher.Euclidean
	if en.Model.Metric == faces.Cosine {
		metric = matcher.Cosine
	}
	g := matcher.NewGallery(en.Model.Dim, metric)
	for _, t := range en.Tickets {
		if err := g.Set(t.ID, [][]float32{t.Descriptor}, true); err != nil {
			return nil, fmt.Errorf("calibrate: %w", err)
		}
	}
	return g, nil
}

// Outcome counts how a policy fared in open-set 1:N trials.
type Outcome struct {
	// Genuine trials: the probe's person is enrolled (from other photos).
	Genuine, CorrectAccepts, FalseRejects, WrongPerson int
	// Impostor trials: the probe's person is not enrolled.
	Impostor, FalseAccepts int
}

// TPIR is the share of genuine trials admitted as the right person.
func (o Outcome) TPIR() float64 { return ratio(o.CorrectAccepts, o.Genuine) }

// FPIR is the share of impostor trials admitted as anyone.
func (o Outcome) FPIR() float64 { return ratio(o.FalseAccepts, o.Impostor) }

func ratio(n, of int) float64 {
	if of == 0 {
		return 0
	}
	return float64(n) / float64(of)
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

// Point is an operating point of open-set identification: the largest
// threshold that, with a given margin, admits at most MaxFPIR of the
// impostor trials, and how the policy fares there.
type Point struct {
	MaxFPIR float64
	// Threshold is the policy's threshold: a face is admitted at a
	// distance at most Threshold. +Inf when the margin alone keeps every
	// impostor trial out. Limit is the distance of the nearest impostor
	// trial it keeps out (+Inf for none): every threshold below Limit
	// gives the same rates.
	Threshold, Limit float32
	Outcome          Outcome
	// OK is false without trials of both kinds.
	OK bool
}

// OperatingPoint returns the point for maxFPIR, with the margin held.
func OperatingPoint(trials []Trial, margin float32, maxFPIR float64) Point {
	pt := Point{MaxFPIR: maxFPIR, Threshold: float32(math.Inf(1)), Limit: float32(math.Inf(1))}
	// The distances at which an impostor trial is admitted once the
	// threshold reaches them.
	var admissible []float32
	impostors, genuine := 0, 0
	for _, t := range trials {
		if t.Genuine {
			genuine++
			continue
		}
		impostors++
		if (matcher.Policy{Threshold: float32(math.Inf(1)), Margin: margin}).Candidate(t.Result) != "" {
			admissible = append(admissible, t.Result.BestDistance)
		}
	}
	slices.Sort(admissible)
	allowed := int(math.Floor(maxFPIR*float64(impostors) + 1e-9))
	if allowed < len(admissible) {
		pt.Limit = admissible[allowed]
		pt.Threshold = math.Nextafter32(pt.Limit, float32(math.Inf(-1)))
	}
	pt.Outcome = Evaluate(trials, matcher.Policy{Threshold: pt.Threshold, Margin: margin})
	pt.OK = genuine > 0 && impostors > 0
	return pt
}

// Nearest returns the n impostor trials whose best match is nearest,
// nearest first.
func Nearest(trials []Trial, n int) []Trial {
	var out []Trial
	for _, t := range trials {
		if !t.Genuine && t.Result.Best != "" {
			out = append(out, t)
		}
	}
	slices.SortStableFunc(out, func(a, b Trial) int { return cmp.Compare(a.Result.BestDistance, b.Result.BestDistance) })
	return out[:min(n, len(out))]
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
