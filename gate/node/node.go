// Package node is one gate lane at work: it reads camera frames, finds and
// matches faces and QR codes, applies the ticket rules, pulses the turnstile
// relay, and records every decision — online or not.
package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"slices"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/scenicgate/scenicgate/gate/matcher"
	"github.com/scenicgate/scenicgate/gate/mirror"
	"github.com/scenicgate/scenicgate/gate/store"
	"github.com/scenicgate/scenicgate/hardware/relay"
	"github.com/scenicgate/scenicgate/internal/bus"
	"github.com/scenicgate/scenicgate/internal/drain"
	"github.com/scenicgate/scenicgate/internal/rules"
	"github.com/scenicgate/scenicgate/internal/signed"
	"github.com/scenicgate/scenicgate/models/faces"
	"github.com/scenicgate/scenicgate/proto/sgpb"
)

// Node is a running gate. Its methods are safe for concurrent use.
type Node struct {
	cfg     Config
	log     *slog.Logger
	now     func() time.Time
	gate    rules.Gate
	store   *store.Store
	model   faces.Model
	gallery *matcher.Gallery
	// threshold is 1:N search's threshold, chosen for the gallery's size
	// unless --threshold fixed it (fixedThreshold).
	threshold      matchThreshold
	fixedThreshold bool
	// entries counts the tickets' entries, so the gallery leaves out those
	// with none left.
	entries entryCounts
	mirror  *mirror.Mirror
	site    *mirror.Site
	engine  *faces.Engine
	// admin's keys, which commands must be signed with.
	admin    *signed.Keys
	refusals *mirror.Refusals
	commands *commandGuard
	relay    relay.Relay
	nc       *nats.Conn
	js       jetstream.JetStream
	metrics  *metrics

	publisher *publisher
	startedAt time.Time
	frames    frameStats
	// unrecorded holds decisions the disk would not take.
	unrecorded unrecorded
	// jetstream and link are what the gate knows of NATS for its claims.
	jetstream jetStreamState
	link      link
	// afterClaim, when set, runs as soon as an entry is claimed, before
	// the decision is recorded: tests stop the gate there.
	afterClaim func()

	kvMu          sync.Mutex
	kvRedemptions jetstream.KeyValue
	kvPresence    jetstream.KeyValue

	observersMu sync.Mutex
	observers   []func(*sgpb.Admission)

	pulses sync.WaitGroup
	bg     sync.WaitGroup
	cancel context.CancelFunc

	closeOnce sync.Once
	ownEngine bool
}

// Parts are what a Node is built from. Engine and Relay may be given (tests,
// the demo); otherwise New opens them from the config.
type Parts struct {
	Engine *faces.Engine
	Relay  relay.Relay
}

// New opens the gate's database and loads its mirror — so it can decide at
// once, whether or not NATS is reachable — then connects to NATS in the
// background and starts syncing, publishing and reporting.
func New(ctx context.Context, cfg Config, parts Parts, log *slog.Logger) (n *Node, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	fixed := cfg.Policy.Threshold != 0
	if cfg, err = cfg.withModelDefaults(); err != nil {
		return nil, err
	}
	model, _ := cfg.Model()
	n = &Node{cfg: cfg, fixedThreshold: fixed, log: log.With("gate", cfg.ID), now: time.Now, startedAt: time.Now(), afterClaim: faultPoint("after-claim")}
	n.gate = rules.Gate{ID: cfg.ID, Zone: cfg.Zone, Direction: cfg.direction()}
	// Every failed return below sets n to nil: close what was opened
	// through a reference of its own.
	built := n
	defer func() {
		if err != nil {
			built.Close()
		}
	}()
	// The relay first: it drives the contact off as soon as it reaches the
	// port, so a turnstile a crash left open shuts before anything else
	// (the mirror, the face models) is loaded.
	if n.relay = parts.Relay; n.relay == nil {
		if n.relay, err = relay.Open(cfg.Relay, relay.Options{Logger: n.log, Pulse: cfg.Pulse}); err != nil {
			return nil, err
		}
	}
	if n.store, err = store.Open(ctx, cfg.Data); err != nil {
		return nil, err
	}
	enroll, err := signed.LoadKeys(cfg.TrustEnroll)
	if err != nil {
		return nil, fmt.Errorf("--trust-enroll: %w", err)
	}
	if n.admin, err = signed.LoadKeys(cfg.TrustAdmin); err != nil {
		return nil, fmt.Errorf("--trust-admin: %w", err)
	}
	n.refusals = mirror.NewRefusals(n.now)
	if n.commands, err = loadCommandGuard(ctx, n.store); err != nil {
		return nil, err
	}
	n.model = model
	n.gallery = matcher.NewGallery(model.Dim, galleryMetric(model.Metric))
	n.site = mirror.NewSite(n.store, enroll, n.admin, n.refusals, n.log)
	if err := n.site.Load(ctx); err != nil {
		return nil, err
	}
	if err := n.entries.load(ctx, n, n.siteRules().Day(n.now()).String()); err != nil {
		return nil, err
	}
	detector := cfg.Detector
	if parts.Engine != nil {
		detector = parts.Engine.Config().Detector
	}
	alignment := faces.Alignment(detector, model.Name)
	sameModel := func(name string) bool { return faces.CanonicalModel(name) == model.Name }
	n.mirror = mirror.New(n.store, n.gallery, sameModel, alignment, n.eligible, enroll, n.refusals, n.log)
	if err := n.mirror.Load(ctx); err != nil {
		return nil, err
	}
	// Loading decoded and checked every stored entitlement: hand that
	// garbage back to the system now, not as the scavenger gets to it, so
	// that a gate's resident memory is what it keeps.
	debug.FreeOSMemory()
	n.chooseThreshold()
	if missing := n.mirror.WithoutModel(); missing > 0 {
		n.log.Warn("tickets enrolled before this gate's face model was added: they have no descriptor for it and can come in by QR code only",
			"model", model.Name, "tickets", missing)
	}
	if other := n.mirror.OtherAlignment(); other > 0 {
		n.log.Warn("tickets enrolled before the site changed its face detector: they are matched with faces aligned otherwise, and recognised a little less often",
			"model", model.Name, "detector", detector, "tickets", other,
			"fix", "enroll faces recompute --model "+model.Name+" --detector "+detector+" (faces with kept photos); the others may enroll again")
	}
	if n.engine = parts.Engine; n.engine == nil {
		ecfg := faces.Config{ModelDir: cfg.Models, Models: []string{model.Name}, Detector: cfg.Detector, Workers: cfg.Workers}
		if n.engine, err = faces.Open(ecfg); err != nil {
			return nil, err
		}
		n.ownEngine = true
	} else if !slices.ContainsFunc(n.engine.Models(), func(m faces.Model) bool { return m.Name == model.Name }) {
		return nil, fmt.Errorf("gate: the face engine given does not run %s, the gate's model", model.Name)
	}
	n.metrics = newMetrics(n)
	if n.nc, err = bus.Connect(cfg.NATS, bus.Gate(cfg.ID), n.log); err != nil {
		return nil, err
	}
	n.link.set(n.nc.Status())
	if n.js, err = jetstream.New(n.nc); err != nil {
		return nil, err
	}
	n.publisher = &publisher{store: n.store, unrecorded: &n.unrecorded, js: n.js, log: n.log, wake: drain.NewWaker(), gate: cfg.ID}

	bg, cancel := context.WithCancel(context.Background())
	n.cancel = cancel
	n.goBackground(func() { n.mirror.Run(bg, n.js) })
	n.goBackground(func() { n.site.Run(bg, n.js) })
	n.goBackground(func() { n.publisher.run(bg) })
	n.goBackground(func() { n.refreshLoop(bg) })
	n.goBackground(func() { n.statusLoop(bg) })
	n.goBackground(func() { n.thresholdLoop(bg, thresholdEvery) })
	n.goBackground(func() { n.retentionLoop(bg) })
	n.goBackground(func() { n.link.follow(bg, n.nc) })
	n.goBackground(func() { n.watchJetStream(bg, cfg.StatusEvery) })
	n.goBackground(func() { n.settleClaims(bg, 5*time.Second) })
	if err := n.listenCommands(); err != nil {
		return nil, err
	}
	return n, nil
}

// galleryMetric is the matcher's name for a model's metric.
func galleryMetric(m faces.Metric) matcher.Metric {
	if m == faces.Cosine {
		return matcher.Cosine
	}
	return matcher.Euclidean
}

func (n *Node) goBackground(fn func()) {
	n.bg.Add(1)
	go func() { defer n.bg.Done(); fn() }()
}

// eligible keeps in the face gallery the tickets that may pass this gate
// now or within the next few minutes: not revoked, for this zone and gate,
// and inside their validity. The ticket rules still decide; the gallery only
// leaves out faces that could never be admitted here, which makes 1:N search
// faster and a false match less likely. An exit lets every known visitor
// out, so there every ticket with faces counts, even one that ended while
// its holder was inside.
//
// A ticket with no entry left leaves the gallery too, until it could enter
// again (entryCounts): a used single-use or timed ticket, a multi-entry one
// with every entry used, a daily-limited one until the next site day; and
// a timed ticket searched only from a few minutes before its slot opens
// (with the site's early tolerance) until it shuts (with the late one).
// Such a ticket's QR code still gets its precise refusal from the rules.
func (n *Node) eligible(e mirror.Summary, now time.Time) bool {
	if n.gate.Direction == sgpb.Direction_DIRECTION_EXIT {
		return true
	}
	if e.Revoked {
		return false
	}
	if len(e.Zones) > 0 && !contains(e.Zones, n.cfg.Zone) {
		return false
	}
	if len(e.Gates) > 0 && !contains(e.Gates, n.cfg.ID) {
		return false
	}
	soon := now.Add(eligibleAhead)
	if e.ValidFromMs > soon.UnixMilli() || e.ValidUntilMs <= now.UnixMilli() {
		return false
	}
	site := n.siteRules()
	if e.TicketType == sgpb.TicketType_TICKET_TYPE_TIMED {
		open, shut := site.SlotWindow(time.UnixMilli(e.SlotStartMs), time.UnixMilli(e.SlotEndMs))
		if open.After(soon) || now.After(shut) {
			return false
		}
	}
	if e.TicketType == sgpb.TicketType_TICKET_TYPE_DAY_PASS {
		return true
	}
	return !n.entries.usedUp(e, site.Day(now).String())
}

// eligibleAhead is how long before a ticket may enter the gallery searches
// it: the gallery is re-checked every half minute (refreshLoop), so a
// visitor is never missed at the instant a ticket or slot opens.
const eligibleAhead = 5 * time.Minute

func contains(list []string, v string) bool {
	for _, s := range list {
		if s == v {
			return true
		}
	}
	return false
}

// refreshLoop re-checks the gallery every half minute, as tickets become
// valid and end with the clock rather than with a change in the bucket.
func (n *Node) refreshLoop(ctx context.Context) {
	t := time.NewTicker(30 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			n.mirror.Refresh()
			n.entries.forget(func(id string) bool { _, ok := n.mirror.Summary(id); return ok })
		}
	}
}

func (n *Node) siteRules() rules.Site { return n.site.Rules() }

// open pulses the relay without holding up the caller. The pulse belongs to
// the node: Close waits for it, so a turnstile is never left held open.
func (n *Node) open(a *sgpb.Admission, capturedAt time.Time) {
	n.pulses.Add(1)
	go func() {
		defer n.pulses.Done()
		if err := n.relay.Pulse(context.Background(), n.cfg.Pulse); err != nil {
			n.log.Error("relay pulse failed", "event", a.EventId, "err", err)
			n.metrics.relayFailures.Inc()
		}
	}()
	if !capturedAt.IsZero() {
		n.metrics.latency.Observe(n.now().Sub(capturedAt).Seconds())
	}
}

// Observe registers fn to be called with every decision, after it is
// recorded. fn must not block.
func (n *Node) Observe(fn func(*sgpb.Admission)) {
	n.observersMu.Lock()
	defer n.observersMu.Unlock()
	n.observers = append(n.observers, fn)
}

func (n *Node) feed(a *sgpb.Admission) {
	n.observersMu.Lock()
	obs := append([]func(*sgpb.Admission){}, n.observers...)
	n.observersMu.Unlock()
	for _, fn := range obs {
		fn(a)
	}
}

// Mirror returns the entitlement mirror.
func (n *Node) Mirror() *mirror.Mirror { return n.mirror }

// Store returns the gate's database.
func (n *Node) Store() *store.Store { return n.store }

// Close stops the node: it lets a pulse in progress finish, tries once more
// to flush the outbox, and closes everything. Safe to call twice.
func (n *Node) Close() error {
	var err error
	n.closeOnce.Do(func() {
		if n.cancel != nil {
			n.cancel()
		}
		n.bg.Wait()
		n.pulses.Wait()
		if n.publisher != nil && n.online() {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			if ferr := n.publisher.drain(ctx); ferr != nil {
				n.log.Warn("admissions left in the outbox for the next start", "err", ferr)
			}
			cancel()
		}
		if n.store != nil {
			n.unrecorded.writeTo(context.Background(), n.store)
		}
		n.unrecorded.report(n.log)
		if n.nc != nil {
			n.nc.Close()
		}
		if n.relay != nil {
			err = errors.Join(err, n.relay.Close())
		}
		if n.engine != nil && n.ownEngine {
			err = errors.Join(err, n.engine.Close())
		}
		if n.store != nil {
			err = errors.Join(err, n.store.Close())
		}
	})
	if err != nil {
		return fmt.Errorf("gate: close: %w", err)
	}
	return nil
}
