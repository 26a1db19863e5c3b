// Package site holds the settings a scenic area makes once for all its gates
// — its time zone and its published capacities — and the occupancy figures
// that admin works out from the admissions and gates use to enforce them.
// Both travel as JSON in the KV bucket SITE, signed by admin (internal/signed),
// so a gate keeps the last values it saw while NATS is away and takes in only
// what admin wrote.
package site

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/scenicgate/scenicgate/internal/bus"
	"github.com/scenicgate/scenicgate/internal/signed"
)

// Settings are set by staff in admin.
type Settings struct {
	// TimeZone names the site's zone (IANA), e.g. "Asia/Shanghai".
	TimeZone string `json:"time_zone"`
	// DailyCapacity is the published limit of admissions per day; 0 means
	// none.
	DailyCapacity int `json:"daily_capacity"`
	// InstantCapacity is the published limit of visitors in the site at
	// once; 0 means none.
	InstantCapacity int `json:"instant_capacity"`
	// EnforceCapacity makes gates deny with capacity_full once a limit is
	// reached; otherwise admin only warns.
	EnforceCapacity bool `json:"enforce_capacity"`
	// WarnRatio is the share of a capacity at which admin warns (0.8).
	WarnRatio float64 `json:"warn_ratio"`
	// SlotEarly and SlotLate widen timed-entry slots at both ends.
	SlotEarly Duration `json:"slot_early"`
	SlotLate  Duration `json:"slot_late"`
	// PassbackWindow is how long after a ticket is admitted at an entry
	// it is refused at every entry (already_inside), unless it leaves
	// through an exit first: one ticket, one person inside. 0 turns
	// anti-passback off. At most MaxPassbackWindow.
	PassbackWindow Duration `json:"passback_window"`
}

// MaxPassbackWindow is the longest passback window a site may set: a visit
// longer than a day is not one visit.
const MaxPassbackWindow = 24 * time.Hour

// DefaultSettings are used until staff save their own.
func DefaultSettings() Settings {
	return Settings{
		TimeZone:  "Asia/Shanghai",
		WarnRatio: 0.8,
		SlotEarly: Duration(15 * time.Minute),
		SlotLate:  Duration(30 * time.Minute),
		// Long enough for a visit to a scenic spot, short enough that a
		// visitor who left where there is no exit gate can come back the
		// same day.
		PassbackWindow: Duration(2 * time.Hour),
	}
}

// Validate reports settings that make no sense.
func (s Settings) Validate() error {
	if _, err := time.LoadLocation(s.TimeZone); err != nil || s.TimeZone == "" {
		return fmt.Errorf("site: unknown time zone %q", s.TimeZone)
	}
	if s.DailyCapacity < 0 || s.InstantCapacity < 0 {
		return errors.New("site: capacities cannot be negative")
	}
	if s.WarnRatio <= 0 || s.WarnRatio > 1 {
		return errors.New("site: the warning ratio must be above 0 and at most 1")
	}
	if s.SlotEarly < 0 || s.SlotLate < 0 {
		return errors.New("site: slot tolerances cannot be negative")
	}
	if s.PassbackWindow < 0 || time.Duration(s.PassbackWindow) > MaxPassbackWindow {
		return fmt.Errorf("site: the passback window must be from 0 (off) to %v", MaxPassbackWindow)
	}
	return nil
}

// Location returns the site's time zone; an unknown name gives UTC+8.
func (s Settings) Location() *time.Location {
	if loc, err := time.LoadLocation(s.TimeZone); err == nil && s.TimeZone != "" {
		return loc
	}
	return time.FixedZone("CST", 8*3600)
}

// Occupancy is how full the site is, as admin counts it from the
// admissions of the current site-local day.
type Occupancy struct {
	Day           string    `json:"day"`            // YYYY-MM-DD, site-local
	AdmittedToday int       `json:"admitted_today"` // entries admitted
	InPark        int       `json:"in_park"`        // entries minus exits, never below 0
	At            time.Time `json:"at"`
}

// Duration is a time.Duration that reads and writes JSON as "15m0s".
type Duration time.Duration

func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// KeyOccupancy is the SITE bucket key of the Occupancy.
const KeyOccupancy = bus.KeyOccupancy

// EncodeSettings validates s and returns its SITE value: its JSON, signed
// by admin's signer at at.
func EncodeSettings(s Settings, signer *signed.Signer, at time.Time) ([]byte, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	b, err := json.Marshal(s)
	if err != nil {
		return nil, fmt.Errorf("site: settings: %w", err)
	}
	return signer.Sign(signed.Settings, b, at), nil
}

// DecodeSettings opens a SITE settings value signed by one of keys (admin's)
// and returns the settings and when they were signed. Unsigned, forged or
// invalid settings fail: the errors of signed.Keys.Open, or a decoding or
// validation error.
func DecodeSettings(data []byte, keys *signed.Keys) (Settings, time.Time, error) {
	msg, err := keys.Open(signed.Settings, data)
	if err != nil {
		return Settings{}, time.Time{}, err
	}
	s := DefaultSettings()
	if err := json.Unmarshal(msg.Payload, &s); err != nil {
		return Settings{}, time.Time{}, fmt.Errorf("site: settings: %w", err)
	}
	if err := s.Validate(); err != nil {
		return Settings{}, time.Time{}, err
	}
	return s, msg.SignedAt, nil
}

// EncodeOccupancy returns the SITE value of o: its JSON, signed by admin's
// signer at at.
func EncodeOccupancy(o Occupancy, signer *signed.Signer, at time.Time) []byte {
	b, _ := json.Marshal(o) // plain fields always encode
	return signer.Sign(signed.Occupancy, b, at)
}

// DecodeOccupancy opens a SITE occupancy value signed by one of keys and
// returns it with when it was signed. Negative counts fail.
func DecodeOccupancy(data []byte, keys *signed.Keys) (Occupancy, time.Time, error) {
	msg, err := keys.Open(signed.Occupancy, data)
	if err != nil {
		return Occupancy{}, time.Time{}, err
	}
	var o Occupancy
	if err := json.Unmarshal(msg.Payload, &o); err != nil {
		return Occupancy{}, time.Time{}, fmt.Errorf("site: occupancy: %w", err)
	}
	if o.AdmittedToday < 0 || o.InPark < 0 {
		return Occupancy{}, time.Time{}, fmt.Errorf("site: occupancy: negative counts %d, %d", o.AdmittedToday, o.InPark)
	}
	return o, msg.SignedAt, nil
}

// LoadSettings reads the settings from the SITE bucket, signed by one of
// keys; DefaultSettings when none were saved.
func LoadSettings(ctx context.Context, kv jetstream.KeyValue, keys *signed.Keys) (Settings, error) {
	e, err := kv.Get(ctx, bus.KeySettings)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return DefaultSettings(), nil
	}
	if err != nil {
		return DefaultSettings(), fmt.Errorf("site: load settings: %w", err)
	}
	s, _, err := DecodeSettings(e.Value(), keys)
	if err != nil {
		return DefaultSettings(), fmt.Errorf("site: settings: %w", err)
	}
	return s, nil
}

// SaveSettings validates the settings, signs them and writes them to the
// SITE bucket.
func SaveSettings(ctx context.Context, kv jetstream.KeyValue, s Settings, signer *signed.Signer) error {
	b, err := EncodeSettings(s, signer, time.Now())
	if err != nil {
		return err
	}
	if _, err := kv.Put(ctx, bus.KeySettings, b); err != nil {
		return fmt.Errorf("site: save settings: %w", err)
	}
	return nil
}

// SaveOccupancy signs the occupancy and writes it to the SITE bucket.
func SaveOccupancy(ctx context.Context, kv jetstream.KeyValue, o Occupancy, signer *signed.Signer) error {
	if _, err := kv.Put(ctx, KeyOccupancy, EncodeOccupancy(o, signer, time.Now())); err != nil {
		return fmt.Errorf("site: save occupancy: %w", err)
	}
	return nil
}
