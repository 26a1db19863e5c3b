package app

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/scenicgate/scenicgate/enroll/store"
	"github.com/scenicgate/scenicgate/internal/bus"
	"github.com/scenicgate/scenicgate/internal/bus/bustest"
)

// TestNATSRetentionFromFlags: enroll provisions the retention it is given,
// and sells no ticket that would outlive its entry claims.
func TestNATSRetentionFromFlags(t *testing.T) {
	s := bustest.Embedded(t)
	_, js := s.Connect(t) // provisions the defaults; enroll changes them
	cfg := DefaultConfig()
	cfg.Data, cfg.NATS, cfg.Engine = t.TempDir(), s.Options(t, bus.Enroll()), engine
	cfg.Retention = bus.Retention{Admissions: 36 * time.Hour, Redemptions: 4 * 24 * time.Hour}
	a, err := New(context.Background(), cfg, quietLog())
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	ctx := context.Background()
	st, err := js.Stream(ctx, bus.StreamAdmissions)
	if err != nil {
		t.Fatal(err)
	}
	kv, err := js.KeyValue(ctx, bus.BucketRedemptions)
	if err != nil {
		t.Fatal(err)
	}
	status, _ := kv.Status(ctx)
	if got := st.CachedInfo().Config.MaxAge; got != 36*time.Hour || status.TTL() != 4*24*time.Hour {
		t.Errorf("provisioned ADMISSIONS max age %v, REDEMPTIONS %v; want 36h and 96h", got, status.TTL())
	}

	// Claims live 4 days: a ticket may end at most 2 days after today.
	key, _ := a.Store().CreateAPIKey(ctx, "shop", store.ScopeShop)
	c := newClient(t, a, key)
	order := func(id, last string) map[string]any {
		o := orderJSON(id)
		o["visitors"].([]map[string]any)[0]["valid_to"] = last
		return o
	}
	if code, body := c.postJSON("/api/v1/tickets", order("r-1", daysFromToday(2))); code != http.StatusCreated {
		t.Errorf("a ticket ending in 2 days: %d %v; want 201", code, body)
	}
	if code, body := c.postJSON("/api/v1/tickets", order("r-2", daysFromToday(3))); code != http.StatusBadRequest || errCode(body) != "validity_out_of_range" {
		t.Errorf("a ticket ending in 3 days: %d %q; want 400 validity_out_of_range", code, errCode(body))
	}

	for _, bad := range []bus.Retention{{Admissions: time.Hour, Redemptions: 402 * 24 * time.Hour}, {Admissions: 24 * time.Hour, Redemptions: 47 * time.Hour}} {
		cfg.Retention, cfg.Data = bad, t.TempDir()
		if _, err := New(context.Background(), cfg, quietLog()); err == nil || !strings.Contains(err.Error(), "max-age") {
			t.Errorf("retention %+v: %v; want refused naming the flag", bad, err)
		}
	}
}

func TestDefaultValidityIs400Days(t *testing.T) {
	if got := DefaultConfig().maxDaysAhead(); got != 400 {
		t.Errorf("with the default REDEMPTIONS retention a ticket may end %d days ahead; want 400", got)
	}
}
