// Package ingest materialises what admin shows from NATS into admin's own
// SQLite, so history survives a NATS restart and admin resumes where it
// stopped:
//
//   - every admission from the stream ADMISSIONS, through an ordered consumer
//     that starts after the last stream sequence stored; rows are keyed by
//     event id, so replays change nothing;
//   - the entitlements mirror from the KV bucket ENTITLEMENTS, through a
//     watch resumed after the last revision stored (names and validity only);
//   - each gate's last heartbeat from gates.*.status;
//   - the site settings from the SITE bucket, kept in memory.
//
// It also computes the site's occupancy from the stored admissions and
// writes it to the SITE bucket for the gates, and feeds the live hub.
//
// Every loop survives NATS outages: it waits and starts again from the
// position it stored, so nothing is lost or counted twice. A consumer that
// stops delivering while its stream holds more, or whose server stops
// answering, is noticed within Options.StallAfter and made anew (on
// another server of the cluster when its own hangs), without a restart.
// enroll creates the streams and buckets; until they exist, the loops wait.
package ingest

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/scenicgate/scenicgate/admin/live"
	"github.com/scenicgate/scenicgate/admin/store"
	"github.com/scenicgate/scenicgate/internal/signed"
	"github.com/scenicgate/scenicgate/internal/site"
)

// Options tune an Ingester. The zero value uses the defaults.
type Options struct {
	// OccupancyInterval is the least time between two writes of the
	// occupancy to the SITE bucket (default 1 s).
	OccupancyInterval time.Duration
	// MaxBackoff caps the wait before a loop retries after an error
	// (default 5 s).
	MaxBackoff time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Signer is admin's key: it signs the occupancy written to SITE, and
	// only settings it signed are taken in. Required.
	Signer *signed.Signer
	// StallAfter is how long a consumer may deliver nothing while its
	// stream holds more before it is made anew (default 10 s); the gates'
	// heartbeats, how long none may arrive before the connection is
	// checked.
	StallAfter time.Duration
}

// Ingester runs the materialising loops. Create it with New and start it
// with Run; its read methods are safe for concurrent use.
type Ingester struct {
	store *store.Store
	nc    *nats.Conn
	js    jetstream.JetStream
	hub   *live.Hub
	log   *slog.Logger
	opts  Options

	settings atomic.Pointer[site.Settings]
	trusted  *signed.Keys // Signer's public key
	wake     chan struct{}

	mu     sync.Mutex
	siteKV jetstream.KeyValue
}

// New returns an Ingester that has not started.
func New(st *store.Store, nc *nats.Conn, js jetstream.JetStream, hub *live.Hub, log *slog.Logger, opts Options) *Ingester {
	if opts.OccupancyInterval <= 0 {
		opts.OccupancyInterval = time.Second
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = 5 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.StallAfter <= 0 {
		opts.StallAfter = 10 * time.Second
	}
	i := &Ingester{store: st, nc: nc, js: js, hub: hub, log: log, opts: opts, wake: make(chan struct{}, 1)}
	i.trusted, _ = signed.NewKeys(opts.Signer.PublicKey())
	def := site.DefaultSettings()
	i.settings.Store(&def)
	return i
}

// Run runs every loop until ctx ends and returns when all have stopped.
func (i *Ingester) Run(ctx context.Context) {
	var wg sync.WaitGroup
	loops := map[string]func(context.Context) error{
		"admissions":   i.consumeAdmissions,
		"entitlements": i.watchEntitlements,
		"gate status":  i.subscribeStatus,
		"settings":     i.watchSettings,
	}
	for name, fn := range loops {
		wg.Add(1)
		go func() { defer wg.Done(); i.forever(ctx, name, fn) }()
	}
	wg.Add(1)
	go func() { defer wg.Done(); i.runOccupancy(ctx) }()
	wg.Wait()
}

// forever runs fn again after each error, waiting longer each time up to
// MaxBackoff, until ctx ends.
func (i *Ingester) forever(ctx context.Context, name string, fn func(context.Context) error) {
	backoff := 250 * time.Millisecond
	for {
		start := time.Now()
		err := fn(ctx)
		if ctx.Err() != nil {
			return
		}
		if time.Since(start) > time.Minute {
			backoff = 250 * time.Millisecond
		}
		i.log.Warn("NATS "+name+" interrupted; resuming", "err", err, "retry_in", backoff)
		if !sleep(ctx, backoff) {
			return
		}
		backoff = min(backoff*2, i.opts.MaxBackoff)
	}
}

// sleep waits d or until ctx ends; it reports whether ctx is still live.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// nudge asks the occupancy loop to recompute soon.
func (i *Ingester) nudge() {
	select {
	case i.wake <- struct{}{}:
	default:
	}
}
