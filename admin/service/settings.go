package service

import (
	"context"
	"fmt"
	"time"

	"github.com/scenicgate/scenicgate/admin/store"
	"github.com/scenicgate/scenicgate/internal/site"
)

// Settings returns the site settings from the SITE bucket. When NATS cannot
// be reached it returns the last ones seen and an error wrapping ErrNATS.
func (s *Service) Settings(ctx context.Context) (site.Settings, error) {
	kv, err := s.ingest.SiteKV(ctx)
	if err != nil {
		return s.ingest.Settings(), fmt.Errorf("%w: %v", ErrNATS, err)
	}
	rctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	set, err := site.LoadSettings(rctx, kv, s.ingest.Trusted())
	if err != nil {
		return s.ingest.Settings(), fmt.Errorf("%w: %v", ErrNATS, err)
	}
	return set, nil
}

// CurrentSettings returns the settings admin works with, without asking
// NATS.
func (s *Service) CurrentSettings() site.Settings { return s.ingest.Settings() }

// ValidateSettings returns the first problem of set as one of the
// ErrBad... sentinels.
func ValidateSettings(set site.Settings) error {
	if _, err := time.LoadLocation(set.TimeZone); err != nil || set.TimeZone == "" {
		return ErrBadTimeZone
	}
	if set.DailyCapacity < 0 || set.InstantCapacity < 0 {
		return ErrBadCapacity
	}
	if !(set.WarnRatio > 0 && set.WarnRatio <= 1) {
		return ErrBadWarnRatio
	}
	if set.SlotEarly < 0 || set.SlotLate < 0 {
		return ErrBadTolerance
	}
	if set.PassbackWindow < 0 || time.Duration(set.PassbackWindow) > site.MaxPassbackWindow {
		return ErrBadPassback
	}
	return set.Validate()
}

// SaveSettings writes the site settings to the SITE bucket, where every
// gate picks them up. Admins only.
func (s *Service) SaveSettings(ctx context.Context, a Actor, set site.Settings) error {
	if err := allow(a, store.Admin); err != nil {
		return err
	}
	if err := ValidateSettings(set); err != nil {
		return err
	}
	kv, err := s.ingest.SiteKV(ctx)
	if err == nil {
		wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err = site.SaveSettings(wctx, kv, set, s.signer)
		cancel()
	}
	detail := fmt.Sprintf("tz=%s daily=%d instant=%d enforce=%t warn=%.2f early=%s late=%s passback=%s", set.TimeZone,
		set.DailyCapacity, set.InstantCapacity, set.EnforceCapacity, set.WarnRatio,
		time.Duration(set.SlotEarly), time.Duration(set.SlotLate), time.Duration(set.PassbackWindow))
	if err != nil {
		s.audit(ctx, a, ActionSettings, "site", detail+" → "+err.Error(), false)
		return fmt.Errorf("%w: %v", ErrNATS, err)
	}
	s.ingest.SetSettings(set)
	s.audit(ctx, a, ActionSettings, "site", detail, true)
	return nil
}
