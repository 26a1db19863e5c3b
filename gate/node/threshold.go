package node

import (
	"context"
	"sync"
	"time"

	"github.com/scenicgate/scenicgate/gate/threshold"
)

// Where the 1:N threshold comes from, as the heartbeat says.
const (
	ThresholdFixed    = "fixed"    // --threshold
	ThresholdMeasured = "measured" // from the gallery's impostor pairs
	ThresholdDefault  = "default"  // the model's: too few pairs to measure
)

// impostorPairs is the most impostor pairs sampled to choose the threshold.
const impostorPairs = threshold.SamplePairs

// thresholdEvery is how often the gate looks whether the number of
// searched tickets changed, to choose the threshold again.
const thresholdEvery = 5 * time.Second

// DefaultTargetFPIR is the chance, per approach, that a stranger is let in
// by a false match with some ticket, that the threshold is chosen for.
const DefaultTargetFPIR = 0.001

// matchThreshold is the threshold 1:N search uses and how it was chosen.
// Its methods are safe for concurrent use.
type matchThreshold struct {
	mu     sync.Mutex
	choice threshold.Choice
	source string
	chosen bool
}

func (m *matchThreshold) get() (threshold.Choice, string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.choice, m.source
}

// set replaces the choice and reports whether the threshold changed (or
// was chosen for the first time).
func (m *matchThreshold) set(c threshold.Choice, source string) (changed bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	changed = !m.chosen || m.choice.Threshold != c.Threshold || m.source != source
	m.choice, m.source, m.chosen = c, source, true
	return changed
}

// searchThreshold returns the largest distance 1:N search accepts.
func (n *Node) searchThreshold() float32 {
	c, _ := n.threshold.get()
	return c.Threshold
}

// chooseThreshold chooses the 1:N threshold for the gallery as it is now,
// unless --threshold fixed it: the largest, never above the model's default
// (or --threshold's base), whose expected FPIR over the searched tickets is
// at most --target-fpir. 1:1 verification (verify mode) keeps the base
// threshold: a face compared with one ticket runs no gallery-size risk.
func (n *Node) chooseThreshold() {
	base := n.cfg.Policy.Threshold
	if n.fixedThreshold {
		tickets, _ := n.gallery.Len()
		n.threshold.set(threshold.Choice{Threshold: base, Gallery: tickets}, ThresholdFixed)
		return
	}
	start := time.Now()
	d, tickets := n.gallery.Impostors(impostorPairs, 1)
	c := threshold.Choose(d, tickets, n.cfg.TargetFPIR, base)
	source := ThresholdMeasured
	if !c.Measured {
		source = ThresholdDefault
	}
	if n.threshold.set(c, source) {
		n.log.Info("face match threshold chosen", "threshold", c.Threshold, "source", source, "tickets", tickets,
			"pairs", c.Pairs, "expected_fpir", c.ExpectedFPIR, "target_fpir", n.cfg.TargetFPIR, "note", c.Note,
			"took_ms", time.Since(start).Milliseconds())
	}
}

// thresholdLoop chooses the threshold again whenever the number of searched
// tickets has changed, looking every few seconds: tickets arrive and leave
// with the bucket's changes and with the clock.
func (n *Node) thresholdLoop(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if n.fixedThreshold {
				continue
			}
			c, _ := n.threshold.get()
			if tickets, _ := n.gallery.Len(); tickets != c.Gallery {
				n.chooseThreshold()
			}
		}
	}
}
