// Package mirror keeps a gate's copy of the ENTITLEMENTS bucket: in SQLite,
// so the gate decides from it at once after a restart and while NATS is
// away, and in memory as little as a gate needs to search faces: a summary
// of each entitlement, to know which tickets may pass now, and the gallery of
// the gate's model's descriptors. A decision reads its one ticket from
// SQLite.
//
// The watch resumes from the last applied revision, so a gate that was
// offline catches up with exactly the changes it missed.
//
// Only entitlements signed by enroll, within range and not older than the
// one held are taken in (Open); the others are refused and reported, so a
// writer on the bus can neither forge a ticket nor bring back an old one.
package mirror

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/scenicgate/scenicgate/gate/matcher"
	"github.com/scenicgate/scenicgate/gate/store"
	"github.com/scenicgate/scenicgate/internal/bus"
	"github.com/scenicgate/scenicgate/internal/rules"
	"github.com/scenicgate/scenicgate/internal/signed"
	"github.com/scenicgate/scenicgate/models/faces"
	"github.com/scenicgate/scenicgate/proto/sgpb"
)

// Eligible reports whether an entitlement's faces are searched at instant
// now: the gallery searches only who may plausibly pass this gate now, which
// keeps 1:N search both faster and safer.
type Eligible func(s Summary, now time.Time) bool

// Summary is what the mirror keeps in memory of an entitlement: what
// eligibility and the version check depend on.
type Summary struct {
	TicketID                  string
	Revoked                   bool
	ValidFromMs, ValidUntilMs int64
	// Zones and Gates are shared between summaries with equal lists; the
	// caller must not modify them.
	Zones, Gates []string
	// Faces counts the entitlement's face descriptors, of every model.
	Faces   int
	Version int64
	// What limits the ticket's entries: its type, its entries in all
	// (MULTI) or a day (MULTI_DAY, ANNUAL), and a TIMED ticket's slot,
	// to the second (its start rounded down, its end up).
	TicketType                    sgpb.TicketType
	EntriesAllowed, EntriesPerDay int
	SlotStartMs, SlotEndMs        int64
}

// summary is a Summary as the mirror keeps it: a gate holds one per ticket,
// so it is packed (48 bytes, where a Summary takes 144).
type summary struct {
	validFromMs, validUntilMs, version int64
	place                              int32 // index in Mirror.places
	// slotStart and slotEnd are a timed ticket's slot in seconds from
	// validFromMs, the start rounded down and the end up.
	slotStart, slotEnd int32
	entriesAllowed     uint16 // at most rules.MaxEntries
	entriesPerDay      uint16 // at most rules.MaxEntriesPerDay
	faces              uint8  // at most rules.MaxFaces
	ticketType         uint8
	revoked            bool
}

// place is an entitlement's zones and gates.
type place struct{ zones, gates []string }

// Mirror is the gate's view of the entitlements. It is safe for concurrent
// use.
//
// The descriptors of the gate's model live in the gallery only: memory
// holds a Summary of each entitlement, so that a gate with a hundred
// thousand tickets, each with a descriptor for several models, holds one
// copy of the descriptors it can use and none of the others.
type Mirror struct {
	store     *store.Store
	gallery   *matcher.Gallery
	sameModel func(model string) bool
	alignment string
	eligible  Eligible
	trust     *signed.Keys
	refusals  *Refusals
	log       *slog.Logger
	now       func() time.Time

	mu   sync.RWMutex
	ents map[string]summary
	// places are the distinct pairs of zone and gate lists, which most
	// tickets share; placeIndex finds one by its lists.
	places     []place
	placeIndex map[string]int32
	// lacking holds the tickets that have faces, but none from the gate's
	// model: enrolled before the site added it.
	lacking map[string]bool
	// otherAligned holds the tickets searched with descriptors of the
	// gate's model aligned otherwise than the gate aligns (see New).
	otherAligned map[string]bool
	// removed holds the version of entitlements removed from the bucket
	// until their ticket ends, so an older value put back is refused too.
	removed map[string]int64

	revision atomic.Uint64
	lastSeq  atomic.Uint64 // the bucket's last revision, as last seen
	synced   atomic.Bool
}

// New returns a mirror over st feeding gallery with the descriptors whose
// model sameModel accepts (the model the gate matches with) and that were
// aligned as the gate aligns faces (faces.Alignment). A ticket whose
// descriptors of the model were all aligned otherwise — enrolled before the
// site changed detector — is searched with those: one photo's descriptors
// aligned the two ways are a few hundredths apart, and such a ticket is
// recognised a little less often rather than not at all (OtherAlignment
// counts them). It takes in only
// entitlements signed by one of trust's keys (enroll's), and records what it
// refuses in refusals.
func New(st *store.Store, gallery *matcher.Gallery, sameModel func(model string) bool, alignment string, eligible Eligible,
	trust *signed.Keys, refusals *Refusals, log *slog.Logger) *Mirror {
	return &Mirror{store: st, gallery: gallery, sameModel: sameModel, alignment: alignment, eligible: eligible, trust: trust, refusals: refusals,
		log: log, now: time.Now, ents: map[string]summary{}, placeIndex: map[string]int32{}, lacking: map[string]bool{}, otherAligned: map[string]bool{},
		removed: map[string]int64{}}
}

// Load fills memory from SQLite. Call it once before serving. Stored values
// are checked as the bucket's are: one that no longer opens (a value kept
// before entitlements were signed, or signed by a key the gate no longer
// trusts) is dropped, and the watch then reads the whole bucket again.
func (m *Mirror) Load(ctx context.Context) error {
	rev, err := m.store.Revision(ctx)
	if err != nil {
		return fmt.Errorf("mirror: %w", err)
	}
	now := m.now()
	err = m.store.Removed(ctx, now, func(id string, version int64) { m.removed[id] = version })
	if err != nil {
		return fmt.Errorf("mirror: load: %w", err)
	}
	// Opening each stored value (its signature checked, then decoded)
	// and holding it is done on every core, while one reads the database.
	type stored struct {
		id   string
		data []byte
	}
	var (
		work   = make(chan stored, 256)
		wg     sync.WaitGroup
		dropMu sync.Mutex
		drop   []store.Change
	)
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for s := range work {
				e, err := m.Open(s.id, s.data)
				if err != nil {
					m.log.Error("dropping a stored entitlement that does not open; reading the bucket again", "ticket", s.id, "err", err)
					dropMu.Lock()
					drop = append(drop, store.Change{TicketID: s.id})
					dropMu.Unlock()
					continue
				}
				m.put(e, now)
			}
		})
	}
	err = m.store.Entitlements(ctx, func(id string, data []byte) error {
		select {
		case work <- stored{id, data}:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	close(work)
	wg.Wait()
	if err != nil {
		return fmt.Errorf("mirror: load: %w", err)
	}
	if len(drop) > 0 {
		rev = 0
		if err := m.store.Apply(ctx, drop, rev); err != nil {
			return fmt.Errorf("mirror: load: %w", err)
		}
	}
	m.revision.Store(rev)
	// Decoding every entitlement left garbage the size of the bucket;
	// give it back now rather than carry it as resident memory.
	debug.FreeOSMemory()
	m.log.Info("entitlement mirror loaded", "tickets", len(m.ents), "revision", rev)
	return nil
}

// Why Open refuses an entitlement; each wraps the cause.
var (
	// ErrNotSigned: unsigned, signed by a key the gate does not trust, or
	// altered since it was signed.
	ErrNotSigned = errors.New("not signed by enroll")
	// ErrOlder: a version older than the one the gate holds (or held).
	ErrOlder = errors.New("older than the version held")
	// ErrWrongKey: signed for another ticket than the key it is stored at.
	ErrWrongKey = errors.New("stored under another ticket's key")
)

// Open checks the value of key ticketID in the bucket and returns the
// entitlement it holds: signed by enroll, for that ticket, within range
// (rules.CheckEntitlement) and not older than the version the mirror holds
// or held. The errors wrap ErrNotSigned, rules.ErrOutOfRange, ErrWrongKey or
// ErrOlder. The face descriptors are only checked for size and finite
// values, not interpreted.
func (m *Mirror) Open(ticketID string, data []byte) (*sgpb.Entitlement, error) {
	e := &sgpb.Entitlement{}
	if _, err := m.trust.OpenMessage(signed.Entitlement, data, e); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNotSigned, err)
	}
	if e.TicketId != ticketID {
		return nil, fmt.Errorf("%w: %.40q", ErrWrongKey, e.TicketId)
	}
	if err := rules.CheckEntitlement(e); err != nil {
		return nil, err
	}
	m.mu.RLock()
	held, ok := m.ents[ticketID]
	floor := m.removed[ticketID]
	m.mu.RUnlock()
	if ok {
		floor = max(floor, held.version)
	}
	if e.Version < floor {
		return nil, fmt.Errorf("%w: version %d, %d held", ErrOlder, e.Version, floor)
	}
	return e, nil
}

// Get reads the entitlement of a ticket from the gate's database, where it
// was stored once checked, or returns nil when the mirror has none. The
// caller owns it.
func (m *Mirror) Get(ctx context.Context, ticketID string) (*sgpb.Entitlement, error) {
	data, err := m.store.Entitlement(ctx, ticketID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("mirror: %w", err)
	}
	e := &sgpb.Entitlement{}
	if _, err := m.trust.OpenMessage(signed.Entitlement, data, e); err != nil {
		return nil, fmt.Errorf("mirror: stored entitlement %q: %w", ticketID, err)
	}
	return e, nil
}

// Summary returns what the mirror holds in memory of a ticket.
func (m *Mirror) Summary(ticketID string) (Summary, bool) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	s, ok := m.ents[ticketID]
	if !ok {
		return Summary{}, false
	}
	return m.unpack(ticketID, s), true
}

// unpack returns ticket id's s as a Summary. m.mu must be held.
func (m *Mirror) unpack(id string, s summary) Summary {
	p := m.places[s.place]
	sum := Summary{
		TicketID: id, Revoked: s.revoked, ValidFromMs: s.validFromMs, ValidUntilMs: s.validUntilMs,
		Zones: p.zones, Gates: p.gates, Faces: int(s.faces), Version: s.version,
		TicketType: sgpb.TicketType(s.ticketType), EntriesAllowed: int(s.entriesAllowed), EntriesPerDay: int(s.entriesPerDay),
	}
	if sum.TicketType == sgpb.TicketType_TICKET_TYPE_TIMED {
		sum.SlotStartMs = s.validFromMs + int64(s.slotStart)*1000
		sum.SlotEndMs = s.validFromMs + int64(s.slotEnd)*1000
	}
	return sum
}

// WithoutModel returns how many tickets have faces but no descriptor from
// the gate's model, because they were enrolled before the site added it:
// their visitors can only come in by QR code until enroll computes the
// descriptor (`enroll faces recompute`, from kept photos) or they enroll
// again.
func (m *Mirror) WithoutModel() int {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return len(m.lacking)
}

// OtherAlignment returns how many tickets are searched with descriptors of
// the gate's model aligned otherwise than the gate aligns (see New): until
// enroll describes their kept photos again (`enroll faces recompute
// --detector`) or they enroll again.
func (m *Mirror) OtherAlignment() int {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return len(m.otherAligned)
}

// Len returns the number of entitlements held.
func (m *Mirror) Len() int {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return len(m.ents)
}

// Revision returns the last applied bucket revision.
func (m *Mirror) Revision() uint64 { return m.revision.Load() }

// Lag returns how many revisions the mirror is behind the bucket, as far as
// it knows.
func (m *Mirror) Lag() uint64 {
	last, rev := m.lastSeq.Load(), m.revision.Load()
	if last > rev {
		return last - rev
	}
	return 0
}

// Synced reports whether the watch has caught up with the bucket since the
// gate started.
func (m *Mirror) Synced() bool { return m.synced.Load() }

// put holds e in memory: its summary, and in the gallery one template of
// the gate's model, its faces fused (see template). It keeps no reference
// to e.
func (m *Mirror) put(e *sgpb.Entitlement, now time.Time) {
	var faces, otherAligned [][]float32
	for _, f := range e.Faces {
		switch {
		case !m.sameModel(f.Model):
		case f.Alignment == m.alignment:
			faces = append(faces, f.Values)
		default:
			otherAligned = append(otherAligned, f.Values)
		}
	}
	other := len(faces) == 0 && len(otherAligned) > 0
	if other {
		faces = otherAligned
	}
	tmpl, err := m.template(faces)
	m.mu.Lock()
	s := summary{
		revoked: e.Revoked, validFromMs: e.ValidFromMs, validUntilMs: e.ValidUntilMs,
		place: m.place(e.Zones, e.Gates), faces: uint8(len(e.Faces)), version: e.Version,
		ticketType:     uint8(e.TicketType),
		entriesAllowed: uint16(clamp(int64(e.EntriesAllowed), 0, math.MaxUint16)),
		entriesPerDay:  uint16(clamp(int64(e.EntriesPerDay), 0, math.MaxUint16)),
	}
	if e.TicketType == sgpb.TicketType_TICKET_TYPE_TIMED {
		s.slotStart = int32(clamp(floorDiv(e.SlotStartMs-e.ValidFromMs, 1000), math.MinInt32, math.MaxInt32))
		s.slotEnd = int32(clamp(-floorDiv(e.ValidFromMs-e.SlotEndMs, 1000), math.MinInt32, math.MaxInt32))
	}
	// A fresh string, so that the map does not keep alive the buffer e was
	// decoded from.
	id := strings.Clone(e.TicketId)
	sum := m.unpack(id, s)
	m.ents[id] = s
	delete(m.lacking, id)
	delete(m.otherAligned, id)
	if len(e.Faces) > 0 && len(faces) == 0 {
		m.lacking[id] = true
	}
	if other {
		m.otherAligned[id] = true
	}
	m.mu.Unlock()
	if err == nil {
		err = m.gallery.Set(id, tmpl, m.eligible(sum, now))
	}
	if err != nil {
		m.log.Error("ignoring the faces of an entitlement", "ticket", id, "err", err)
		m.gallery.Remove(id)
	}
}

func clamp(v, lo, hi int64) int64 { return min(max(v, lo), hi) }

// floorDiv divides rounding toward minus infinity.
func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// template returns the one descriptor the gallery holds for a ticket with
// these faces of the gate's model: their fusion (faces.Fuse), which is
// recognised more often than any single photo of them, and costs the
// search one comparison per ticket however many photos the visitor gave.
// None for no face. A face of the wrong length is an error, as the gallery
// would give for it.
func (m *Mirror) template(descs [][]float32) ([][]float32, error) {
	if len(descs) == 0 {
		return nil, nil
	}
	model := faces.Model{Dim: m.gallery.Dim(), Metric: faces.Cosine}
	if m.gallery.Metric() == matcher.Euclidean {
		model.Metric = faces.Euclidean
	}
	for i, d := range descs {
		if len(d) != model.Dim {
			return nil, fmt.Errorf("mirror: face %d: %d values; want %d", i, len(d), model.Dim)
		}
	}
	if len(descs) == 1 {
		return descs, nil
	}
	fused := faces.Fuse(model, descs)
	if fused == nil {
		return nil, errors.New("mirror: the faces cancel out when fused")
	}
	return [][]float32{fused}, nil
}

// place returns the index of the place with these zones and gates, adding
// it when it is new. m.mu must be held.
func (m *Mirror) place(zones, gates []string) int32 {
	key := strings.Join(zones, "\x00") + "\x01" + strings.Join(gates, "\x00")
	if i, ok := m.placeIndex[key]; ok {
		return i
	}
	clone := func(list []string) []string {
		if len(list) == 0 {
			return nil
		}
		return slices.Clone(list)
	}
	i := int32(len(m.places))
	m.places = append(m.places, place{zones: clone(zones), gates: clone(gates)})
	m.placeIndex[key] = i
	return i
}

func (m *Mirror) remove(ticketID string) {
	m.mu.Lock()
	if s, ok := m.ents[ticketID]; ok {
		m.removed[ticketID] = max(m.removed[ticketID], s.version)
	}
	delete(m.ents, ticketID)
	delete(m.lacking, ticketID)
	delete(m.otherAligned, ticketID)
	m.mu.Unlock()
	m.gallery.Remove(ticketID)
}

// Recheck re-checks whether the gallery searches one ticket now, after
// something eligibility depends on changed for it (an entry used).
func (m *Mirror) Recheck(ticketID string) {
	now := m.now()
	m.mu.RLock()
	defer m.mu.RUnlock()
	if s, ok := m.ents[ticketID]; ok && s.faces > 0 {
		m.gallery.SetActive(ticketID, m.eligible(m.unpack(ticketID, s), now))
	}
}

// Refresh re-checks which entitlements the gallery searches now: tickets
// become valid at their site-local midnight and end at another.
func (m *Mirror) Refresh() {
	now := m.now()
	m.mu.RLock()
	defer m.mu.RUnlock()
	for id, s := range m.ents {
		if s.faces > 0 {
			m.gallery.SetActive(id, m.eligible(m.unpack(id, s), now))
		}
	}
}

// Run watches the bucket through js until ctx ends, applying every change.
// It survives NATS outages: the watch is restarted from the last applied
// revision whenever it breaks.
func (m *Mirror) Run(ctx context.Context, js jetstream.JetStream) {
	backoff := time.Second
	for ctx.Err() == nil {
		err := m.watch(ctx, js)
		if ctx.Err() != nil {
			return
		}
		m.log.Warn("entitlement watch stopped; resuming", "err", err, "revision", m.revision.Load())
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 15*time.Second)
	}
}

// errStalled ends a watch that lags the bucket without delivering anything,
// as one can after NATS restarts; the watch is then started afresh.
var errStalled = errors.New("watch lags the bucket and delivers nothing")

func (m *Mirror) watch(ctx context.Context, js jetstream.JetStream) error {
	kv, err := js.KeyValue(ctx, bus.BucketEntitlements)
	if err != nil {
		return err
	}
	if err := m.checkRevision(ctx, kv); err != nil {
		return err
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w, err := kv.WatchAll(wctx, jetstream.ResumeFromRevision(m.revision.Load()+1))
	if err != nil {
		return err
	}
	defer w.Stop()
	status := time.NewTicker(5 * time.Second)
	defer status.Stop()
	lastUpdate := time.Now()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-status.C:
			// Keeps Lag honest, and detects a bucket that was recreated.
			if err := m.checkRevision(ctx, kv); err != nil {
				return err
			}
			if m.Lag() > 0 && time.Since(lastUpdate) > 5*time.Second {
				return errStalled
			}
		case entry, ok := <-w.Updates():
			lastUpdate = time.Now()
			if !ok {
				return errors.New("watch closed")
			}
			if entry == nil {
				m.synced.Store(true)
				continue
			}
			if err := m.apply(ctx, []jetstream.KeyValueEntry{entry}); err != nil {
				return err
			}
		}
	}
}

// checkRevision reads the bucket's last revision; when the mirror is ahead
// of it the bucket was recreated, and the mirror starts over.
func (m *Mirror) checkRevision(ctx context.Context, kv jetstream.KeyValue) error {
	sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	st, err := kv.Status(sctx)
	if err != nil {
		return err
	}
	info := st.(*jetstream.KeyValueBucketStatus).StreamInfo()
	last := info.State.LastSeq
	m.lastSeq.Store(last)
	if m.revision.Load() > last {
		m.log.Warn("entitlement bucket is behind the mirror; resynchronising", "mirror", m.revision.Load(), "bucket", last)
		if err := m.store.Reset(ctx); err != nil {
			return err
		}
		m.mu.Lock()
		ids := make([]string, 0, len(m.ents))
		for id := range m.ents {
			ids = append(ids, id)
		}
		m.mu.Unlock()
		for _, id := range ids {
			m.remove(id)
		}
		m.mu.Lock()
		clear(m.removed)
		m.mu.Unlock()
		m.revision.Store(0)
		return errors.New("resynchronising from the start")
	}
	return nil
}

func (m *Mirror) apply(ctx context.Context, entries []jetstream.KeyValueEntry) error {
	now := m.now()
	changes := make([]store.Change, 0, len(entries))
	var puts []*sgpb.Entitlement
	var removes []string
	var rev uint64
	for _, en := range entries {
		rev = max(rev, en.Revision())
		what := "entitlement " + en.Key()
		if en.Operation() != jetstream.KeyValuePut {
			c := store.Change{TicketID: en.Key(), Revision: en.Revision()}
			if held, ok := m.Summary(en.Key()); ok {
				c.Version, c.Until = held.Version, time.UnixMilli(held.ValidUntilMs)
			}
			changes = append(changes, c)
			removes = append(removes, en.Key())
			m.refusals.Clear(what)
			continue
		}
		e, err := m.Open(en.Key(), en.Value())
		if err != nil {
			// The gate keeps what it held: a forgery or an old value never
			// replaces a good entitlement.
			m.log.Error("refusing an entitlement", "ticket", en.Key(), "revision", en.Revision(), "err", err)
			m.refusals.Add("entitlement", what, RefusalReason(err))
			continue
		}
		m.refusals.Clear(what)
		changes = append(changes, store.Change{TicketID: en.Key(), Data: en.Value(), Revision: en.Revision()})
		puts = append(puts, e)
	}
	if err := m.store.Apply(ctx, changes, rev); err != nil {
		return err
	}
	for _, e := range puts {
		m.put(e, now)
	}
	for _, id := range removes {
		m.remove(id)
	}
	m.revision.Store(rev)
	if rev > m.lastSeq.Load() {
		m.lastSeq.Store(rev)
	}
	return nil
}

// RefusalReason says in a few words why a value was refused, for the gate's
// faults.
func RefusalReason(err error) string {
	switch {
	case errors.Is(err, signed.ErrUnsigned):
		return "unsigned"
	case errors.Is(err, signed.ErrUnknownKey):
		return "signed by an untrusted key"
	case errors.Is(err, signed.ErrBadSignature):
		return "bad signature"
	case errors.Is(err, ErrOlder):
		return "older than the version held"
	case errors.Is(err, ErrWrongKey):
		return "signed for another ticket"
	case errors.Is(err, rules.ErrOutOfRange):
		return "out of range (" + strings.TrimPrefix(err.Error(), rules.ErrOutOfRange.Error()+": ") + ")"
	}
	return err.Error()
}
