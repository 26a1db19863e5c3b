package relay

import (
	"context"
	"sync"
	"time"
)

// Switch is a command the driver carried out: the contact's new state and
// when the driver began and finished sending it. Times are taken on the
// driver's side of the wire, so they do not depend on how soon a reader of
// the port gets a CPU.
type Switch struct {
	On         bool
	Start, End time.Time
}

// Recorder is a driver that times each command its real driver carries out.
type Recorder struct {
	driver
	mu       sync.Mutex
	switches []Switch
}

func (r *Recorder) set(ctx context.Context, on bool) error {
	start := time.Now()
	err := r.driver.set(ctx, on)
	end := time.Now()
	if err == nil {
		r.mu.Lock()
		r.switches = append(r.switches, Switch{On: on, Start: start, End: end})
		r.mu.Unlock()
	}
	return err
}

func (r *Recorder) closeFor(ctx context.Context, d time.Duration) error {
	start := time.Now()
	err := r.driver.closeFor(ctx, d)
	end := time.Now()
	if err == nil {
		r.mu.Lock()
		r.switches = append(r.switches, Switch{On: true, Start: start, End: end})
		r.mu.Unlock()
	}
	return err
}

// Switches returns the commands that succeeded so far, oldest first.
func (r *Recorder) Switches() []Switch {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Switch(nil), r.switches...)
}

// OpenRecorded is Open with the driver wrapped in a Recorder.
func OpenRecorded(spec string, opts Options) (Relay, *Recorder, error) {
	sp, err := parseSpec(spec)
	if err != nil {
		return nil, nil, err
	}
	opts = opts.withDefaults()
	rec := &Recorder{driver: newDriver(sp, opts.Logger)}
	return start(rec, sp, opts), rec, nil
}
