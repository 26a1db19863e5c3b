package site

import (
	"context"
	"crypto/ed25519"
	"testing"
	"time"

	"github.com/scenicgate/scenicgate/internal/bus"
	"github.com/scenicgate/scenicgate/internal/bus/bustest"
	"github.com/scenicgate/scenicgate/internal/signed"
)

func TestSettingsRoundTripAndValidation(t *testing.T) {
	ctx := context.Background()
	_, js := bustest.Embedded(t).Connect(t)
	kv, err := js.KeyValue(ctx, bus.BucketSite)
	if err != nil {
		t.Fatal(err)
	}
	admin, err := signed.NewSigner(ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize)))
	if err != nil {
		t.Fatal(err)
	}
	trusted, _ := signed.NewKeys(admin.PublicKey())
	got, err := LoadSettings(ctx, kv, trusted)
	if err != nil || got != DefaultSettings() {
		t.Fatalf("LoadSettings on an empty bucket = %+v, %v; want the defaults", got, err)
	}
	want := DefaultSettings()
	want.DailyCapacity, want.InstantCapacity, want.EnforceCapacity = 20000, 5000, true
	want.SlotLate = Duration(45 * time.Minute)
	if err := SaveSettings(ctx, kv, want, admin); err != nil {
		t.Fatal(err)
	}
	if got, err = LoadSettings(ctx, kv, trusted); err != nil || got != want {
		t.Errorf("LoadSettings = %+v, %v; want %+v", got, err, want)
	}
	bad := []Settings{
		{TimeZone: "Mars/Olympus", WarnRatio: 0.8},
		{TimeZone: "Asia/Shanghai", WarnRatio: 0.8, DailyCapacity: -1},
		{TimeZone: "Asia/Shanghai", WarnRatio: 0},
		{TimeZone: "Asia/Shanghai", WarnRatio: 0.8, SlotEarly: -1},
	}
	for _, s := range bad {
		if err := SaveSettings(ctx, kv, s, admin); err == nil {
			t.Errorf("SaveSettings(%+v) succeeded; want it refused", s)
		}
	}
	if got, _ = LoadSettings(ctx, kv, trusted); got != want {
		t.Errorf("refused saves changed the settings to %+v", got)
	}
}
