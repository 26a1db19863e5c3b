package ingest

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/scenicgate/scenicgate/internal/bus"
	"github.com/scenicgate/scenicgate/internal/signed"
	"github.com/scenicgate/scenicgate/internal/site"
)

// Settings returns the site settings last seen in the SITE bucket, or the
// defaults before any were seen.
func (i *Ingester) Settings() site.Settings { return *i.settings.Load() }

// Trusted returns admin's own public key, which the settings in SITE must
// be signed with.
func (i *Ingester) Trusted() *signed.Keys { return i.trusted }

// SetSettings makes s current at once, e.g. right after staff saved them;
// the watch confirms them a moment later.
func (i *Ingester) SetSettings(s site.Settings) {
	i.settings.Store(&s)
	i.nudge()
}

// SiteKV returns the SITE bucket, opening it on first use.
func (i *Ingester) SiteKV(ctx context.Context) (jetstream.KeyValue, error) {
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.siteKV != nil {
		return i.siteKV, nil
	}
	kv, err := i.js.KeyValue(ctx, bus.BucketSite)
	if err != nil {
		return nil, fmt.Errorf("bucket %s (enroll creates it): %w", bus.BucketSite, err)
	}
	i.siteKV = kv
	return kv, nil
}

// watchSettings follows the settings key of the SITE bucket.
func (i *Ingester) watchSettings(ctx context.Context) error {
	kv, err := i.SiteKV(ctx)
	if err != nil {
		return err
	}
	w, err := kv.Watch(ctx, bus.KeySettings)
	if err != nil {
		return fmt.Errorf("watch settings: %w", err)
	}
	defer w.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case e, ok := <-w.Updates():
			if !ok {
				return errors.New("watch ended")
			}
			if e == nil {
				continue
			}
			s := site.DefaultSettings()
			if e.Operation() == jetstream.KeyValuePut {
				var err error
				if s, _, err = site.DecodeSettings(e.Value(), i.trusted); err != nil {
					i.log.Error("site settings admin did not sign are ignored", "err", err)
					continue
				}
			}
			i.SetSettings(s)
		}
	}
}

// PresenceKV returns the PRESENCE bucket, where gates mark which tickets'
// holders are inside (anti-passback).
func (i *Ingester) PresenceKV(ctx context.Context) (jetstream.KeyValue, error) {
	kv, err := i.js.KeyValue(ctx, bus.BucketPresence)
	if err != nil {
		return nil, fmt.Errorf("bucket %s (enroll creates it): %w", bus.BucketPresence, err)
	}
	return kv, nil
}
