// Package service holds enroll's operations — create tickets from an order,
// add faces, revoke, erase, search, purge — as plain methods that the REST
// API, the command line and the tests all call.
package service

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/scenicgate/scenicgate/enroll/store"
	"github.com/scenicgate/scenicgate/internal/qrtoken"
	"github.com/scenicgate/scenicgate/internal/rules"
	"github.com/scenicgate/scenicgate/models/faces"
)

// FaceReader turns an enrollment photo into exactly one face, described by
// each of its models; the face engine (*faces.Engine) is the real one.
type FaceReader interface {
	Enroll(ctx context.Context, img []byte) (faces.Face, error)
	Models() []faces.Model
	// Alignment says how the reader aligns faces for model (see
	// faces.Alignment).
	Alignment(model string) string
}

// Config holds the site's enrollment policy.
type Config struct {
	Site rules.Site
	// KeepPhotos stores enrollment photos beside the descriptors. Off by
	// default: descriptors are all a gate needs, and a photo is more
	// sensitive than a descriptor.
	KeepPhotos bool
	// DuplicateDistance: a new face closer than this to a face of another
	// active ticket (of another order) is reported; with RejectDuplicates
	// the request is refused. The distance is by the duplicate model: the
	// gates' default model when enroll runs it, else enroll's first model.
	// 0 takes that model's gate threshold — two orders' faces that close
	// are ones the gates could take for each other —, a negative value
	// turns the check off.
	DuplicateDistance float32
	RejectDuplicates  bool
	// EraseOnRevoke deletes a ticket's faces when it is revoked: a revoked
	// ticket never admits again, so its face data has no purpose left.
	EraseOnRevoke bool
	// Retention is how long after a ticket ends its faces are kept before
	// the purge job erases them and removes the ticket from the gates.
	Retention time.Duration
	// MaxVisitors bounds an order; MaxPhotos a visitor's faces (1 to 5 by
	// default: the gates fuse them into one template).
	MaxVisitors, MaxPhotos int
	// Quality is what each photo's face must show.
	Quality Quality
	// MaxDaysAhead bounds a ticket's last day: at most this many days
	// after today (site-local). Claims in REDEMPTIONS must outlive every
	// ticket, so enroll lowers it when REDEMPTIONS keeps claims for less.
	MaxDaysAhead int
}

// DefaultConfig returns the defaults the enroll program starts with.
func DefaultConfig() Config {
	return Config{
		Site:              rules.Site{Location: rules.DefaultLocation()},
		DuplicateDistance: 0,
		EraseOnRevoke:     true,
		MaxVisitors:       50,
		MaxPhotos:         5,
		Quality:           DefaultQuality(),
		MaxDaysAhead:      400,
	}
}

// TokenSigner signs tickets' QR codes: a qrtoken.Signer, or enroll's keys,
// which follow a rotation of the QR key.
type TokenSigner interface {
	Sign(qrtoken.Claims) (string, error)
}

// Service runs enroll's operations. It is safe for concurrent use.
type Service struct {
	cfg    Config
	store  *store.Store
	faces  FaceReader
	signer TokenSigner
	log    *slog.Logger
	now    func() time.Time
	dups   *dupIndex
	// dupModel is the model whose descriptors the duplicate check
	// compares, and dupDistance its distance.
	dupModel    faces.Model
	dupDistance float32
	// changed is called after every committed change, to wake the publisher.
	changed func()
}

// New returns a service over st. changed (may be nil) is called after each
// committed change so the publisher can send it at once.
func New(ctx context.Context, cfg Config, st *store.Store, fr FaceReader, signer TokenSigner, log *slog.Logger, changed func()) (*Service, error) {
	if changed == nil {
		changed = func() {}
	}
	s := &Service{cfg: cfg, store: st, faces: fr, signer: signer, log: log, now: time.Now, changed: changed}
	models := fr.Models()
	if len(models) == 0 {
		return nil, fmt.Errorf("service: the face reader runs no model")
	}
	s.dupModel = models[0]
	if i := slices.IndexFunc(models, func(m faces.Model) bool { return m.Name == faces.DefaultModel }); i >= 0 {
		s.dupModel = models[i]
	}
	if s.dupDistance = cfg.DuplicateDistance; s.dupDistance == 0 {
		s.dupDistance = s.dupModel.Threshold
	}
	idx, err := loadDupIndex(ctx, st, s.dupModel, fr.Alignment(s.dupModel.Name), s.now())
	if err != nil {
		return nil, err
	}
	s.dups = idx
	return s, nil
}

// Models returns the names of the models enroll describes faces with.
func (s *Service) Models() []string {
	var names []string
	for _, m := range s.faces.Models() {
		names = append(names, m.Name)
	}
	return names
}

// SetClock replaces the clock, for tests.
func (s *Service) SetClock(now func() time.Time) { s.now = now }
