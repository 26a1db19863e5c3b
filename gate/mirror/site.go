package mirror

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/scenicgate/scenicgate/gate/store"
	"github.com/scenicgate/scenicgate/internal/bus"
	"github.com/scenicgate/scenicgate/internal/qrtoken"
	"github.com/scenicgate/scenicgate/internal/rules"
	"github.com/scenicgate/scenicgate/internal/site"
)

// Site keeps the values of the SITE bucket a gate needs offline: the QR
// verification keys, the site settings and the latest occupancy. It is safe
// for concurrent use.
type Site struct {
	store *store.Store
	log   *slog.Logger

	mu        sync.RWMutex
	verifier  *qrtoken.Verifier
	settings  site.Settings
	rules     rules.Site // from settings, worked out once per change
	occupancy site.Occupancy
}

// NewSite returns the site view over st, with default settings until others
// are loaded or watched.
func NewSite(st *store.Store, log *slog.Logger) *Site {
	s := &Site{store: st, log: log}
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
	for _, key := range []string{bus.KeyQRPublicKeys, bus.KeySettings, site.KeyOccupancy} {
		v, err := s.store.Meta(ctx, "site."+key)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		s.set(key, v)
	}
	return nil
}

// Verifier returns the QR verifier, or nil before any key is known.
func (s *Site) Verifier() *qrtoken.Verifier {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.verifier
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

func (s *Site) set(key string, v []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch key {
	case bus.KeyQRPublicKeys:
		var keys []string
		for _, line := range strings.Split(string(v), "\n") {
			if line = strings.TrimSpace(line); line != "" {
				keys = append(keys, line)
			}
		}
		pubs := make([]ed25519.PublicKey, 0, len(keys))
		for _, k := range keys {
			pub, err := qrtoken.ParsePublicKey(k)
			if err != nil {
				s.log.Error("ignoring a bad QR public key", "err", err)
				continue
			}
			pubs = append(pubs, pub)
		}
		if ver, err := qrtoken.NewVerifier(pubs...); err == nil {
			s.verifier = ver
		}
	case bus.KeySettings:
		st := site.DefaultSettings()
		if err := json.Unmarshal(v, &st); err == nil && st.Validate() == nil {
			s.setSettings(st)
		} else {
			s.log.Error("ignoring invalid site settings", "err", err)
		}
	case site.KeyOccupancy:
		var o site.Occupancy
		if err := json.Unmarshal(v, &o); err == nil {
			s.occupancy = o
		}
	}
}

// Run watches the SITE bucket until ctx ends, keeping every value in SQLite
// for the next offline start.
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
			s.set(e.Key(), e.Value())
			if err := s.store.SetMeta(ctx, "site."+e.Key(), e.Value()); err != nil {
				s.log.Error("keeping a site value failed", "key", e.Key(), "err", err)
			}
		}
	}
}
