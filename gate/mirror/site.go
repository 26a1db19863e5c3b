package mirror

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/scenicgate/scenicgate/gate/store"
	"github.com/scenicgate/scenicgate/internal/bus"
	"github.com/scenicgate/scenicgate/internal/qrtoken"
	"github.com/scenicgate/scenicgate/internal/rules"
	"github.com/scenicgate/scenicgate/internal/signed"
	"github.com/scenicgate/scenicgate/internal/site"
	"github.com/scenicgate/scenicgate/proto/sgpb"
)

// Site keeps the values of the SITE bucket a gate needs offline: the QR
// verification keys (signed by enroll), the site settings and the latest
// occupancy (signed by admin). A value that is unsigned, signed by another
// key, invalid or older than the one held is refused and reported, and the
// gate keeps what it had. It is safe for concurrent use.
type Site struct {
	store    *store.Store
	enroll   *signed.Keys
	admin    *signed.Keys
	refusals *Refusals
	log      *slog.Logger
	now      func() time.Time

	mu        sync.RWMutex
	signedAt  map[string]time.Time // of each value held, by key
	qrKeys    []*sgpb.QRKey
	verifier  *qrtoken.Verifier // from the qrKeys valid until verifierTill
	verTill   time.Time
	settings  site.Settings
	rules     rules.Site // from settings, worked out once per change
	occupancy site.Occupancy
}

// NewSite returns the site view over st, with default settings until others
// are loaded or watched. enroll and admin are the keys the gate was
// installed with.
func NewSite(st *store.Store, enroll, admin *signed.Keys, refusals *Refusals, log *slog.Logger) *Site {
	s := &Site{store: st, enroll: enroll, admin: admin, refusals: refusals, log: log, now: time.Now, signedAt: map[string]time.Time{}}
	s.setSettings(site.DefaultSettings())
	return s
}

// setSettings keeps the settings and the rules they imply; the caller holds
// mu or owns s alone. Loading the time zone reads the zone database, which
// is why it is done here and not for every decision.
func (s *Site) setSettings(st site.Settings) {
	s.settings = st
	s.rules = rules.Site{Location: st.Location(), EarlyTolerance: time.Duration(st.SlotEarly), LateTolerance: time.Duration(st.SlotLate)}
}

// Load restores the last values seen from SQLite.
func (s *Site) Load(ctx context.Context) error {
	for _, key := range []string{bus.KeyQRPublicKeys, bus.KeySettings, bus.KeyOccupancy} {
		v, err := s.store.Meta(ctx, "site."+key)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		if err := s.set(key, v); err != nil {
			// Kept before values were signed, or by a key no longer
			// trusted: the watch brings the current value.
			s.log.Warn("ignoring a stored site value", "key", key, "err", err)
		}
	}
	return nil
}

// Verifier returns the QR verifier of the keys valid now, or nil while no
// key is known.
func (s *Site) Verifier() *qrtoken.Verifier {
	now := s.now()
	s.mu.RLock()
	v, till := s.verifier, s.verTill
	s.mu.RUnlock()
	if till.IsZero() || now.Before(till) {
		return v
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.buildVerifier(now)
	return s.verifier
}

// buildVerifier makes the verifier of the keys valid at now; the caller
// holds mu. A retired key verifies until its last ticket has ended, plus the
// skew every token is allowed.
func (s *Site) buildVerifier(now time.Time) {
	var pubs []ed25519.PublicKey
	var till time.Time
	for _, k := range s.qrKeys {
		if k.NotAfterMs != 0 {
			end := time.UnixMilli(k.NotAfterMs).Add(qrtoken.DefaultSkew)
			if !now.Before(end) {
				continue
			}
			if till.IsZero() || end.Before(till) {
				till = end
			}
		}
		pubs = append(pubs, k.PublicKey)
	}
	s.verifier, _ = qrtoken.NewVerifier(pubs...) // nil without keys
	s.verTill = till
}

// Settings returns the current site settings.
func (s *Site) Settings() site.Settings {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.settings
}

// Rules returns the entry rules of the site's current settings.
func (s *Site) Rules() rules.Site {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.rules
}

// Occupancy returns the latest occupancy admin published.
func (s *Site) Occupancy() site.Occupancy {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.occupancy
}

// errStale: a value signed before the one held.
var errStale = errors.New("older than the value held")

// set checks and takes in the value of a SITE key, or says why not.
func (s *Site) set(key string, v []byte) error {
	var (
		at    time.Time
		apply func()
	)
	switch key {
	case bus.KeyQRPublicKeys:
		var set sgpb.QRKeySet
		msg, err := s.enroll.OpenMessage(signed.QRKeys, v, &set)
		if err != nil {
			return err
		}
		for _, k := range set.Keys {
			if len(k.PublicKey) != ed25519.PublicKeySize {
				return fmt.Errorf("a QR key of %d bytes", len(k.PublicKey))
			}
		}
		at = msg.SignedAt
		apply = func() { s.qrKeys = set.Keys; s.buildVerifier(s.now()) }
	case bus.KeySettings:
		st, signedAt, err := site.DecodeSettings(v, s.admin)
		if err != nil {
			return err
		}
		at, apply = signedAt, func() { s.setSettings(st) }
	case bus.KeyOccupancy:
		o, signedAt, err := site.DecodeOccupancy(v, s.admin)
		if err != nil {
			return err
		}
		at, apply = signedAt, func() { s.occupancy = o }
	default:
		return nil // not a value gates use
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if at.Before(s.signedAt[key]) {
		return fmt.Errorf("%w: signed %s, held %s", errStale, at.Format(time.RFC3339), s.signedAt[key].Format(time.RFC3339))
	}
	s.signedAt[key] = at
	apply()
	return nil
}

// Run watches the SITE bucket until ctx ends, keeping every value it takes
// in in SQLite for the next offline start.
func (s *Site) Run(ctx context.Context, js jetstream.JetStream) {
	for ctx.Err() == nil {
		err := s.watch(ctx, js)
		if ctx.Err() != nil {
			return
		}
		s.log.Warn("site watch stopped; resuming", "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(2 * time.Second):
		}
	}
}

func (s *Site) watch(ctx context.Context, js jetstream.JetStream) error {
	kv, err := js.KeyValue(ctx, bus.BucketSite)
	if err != nil {
		return err
	}
	w, err := kv.WatchAll(ctx)
	if err != nil {
		return err
	}
	defer w.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case e, ok := <-w.Updates():
			if !ok {
				return errors.New("watch closed")
			}
			if e == nil || e.Operation() != jetstream.KeyValuePut {
				continue
			}
			what := "site " + e.Key()
			if err := s.set(e.Key(), e.Value()); err != nil {
				s.log.Error("refusing a site value", "key", e.Key(), "err", err)
				s.refusals.Add("site", what, RefusalReason(err))
				continue
			}
			s.refusals.Clear(what)
			if err := s.store.SetMeta(ctx, "site."+e.Key(), e.Value()); err != nil {
				s.log.Error("keeping a site value failed", "key", e.Key(), "err", err)
			}
		}
	}
}
