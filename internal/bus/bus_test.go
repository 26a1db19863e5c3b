package bus_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/scenicgate/scenicgate/internal/bus"
	"github.com/scenicgate/scenicgate/internal/bus/bustest"
)

func TestProvisionIsIdempotentAndDeduplicates(t *testing.T) {
	bustest.Each(t, func(t *testing.T, s *bustest.Server) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, js := s.Connect(t)
		if err := bus.Provision(ctx, js, 1); err != nil {
			t.Fatalf("second Provision: %v", err)
		}
		for i := 0; i < 3; i++ {
			if _, err := js.Publish(ctx, bus.AdmissionSubject("north-1"), []byte("x"), jetstream.WithMsgID("event-1")); err != nil {
				t.Fatal(err)
			}
		}
		st, err := js.Stream(ctx, bus.StreamAdmissions)
		if err != nil {
			t.Fatal(err)
		}
		info, err := st.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if info.State.Msgs != 1 {
			t.Errorf("ADMISSIONS holds %d messages after 3 publishes of one event id; want 1", info.State.Msgs)
		}
		kv, err := js.KeyValue(ctx, bus.BucketRedemptions)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := kv.Create(ctx, bus.RedemptionKey("T1", 1), []byte("north-1")); err != nil {
			t.Fatal(err)
		}
		if _, err := kv.Create(ctx, bus.RedemptionKey("T1", 1), []byte("south-2")); err == nil {
			t.Error("second Create of one redemption succeeded; want it refused")
		}
	})
}

func TestEmbeddedKeepsDataAcrossRestart(t *testing.T) {
	s := bustest.Embedded(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	nc, js := s.Connect(t)
	kv, err := js.KeyValue(ctx, bus.BucketEntitlements)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Put(ctx, "T1", []byte("v1")); err != nil {
		t.Fatal(err)
	}
	nc.Close()
	s.Stop()
	s.Start()
	_, js = s.Connect(t)
	kv, err = js.KeyValue(ctx, bus.BucketEntitlements)
	if err != nil {
		t.Fatal(err)
	}
	e, err := kv.Get(ctx, "T1")
	if err != nil {
		t.Fatalf("Get after restart: %v", err)
	}
	if string(e.Value()) != "v1" {
		t.Errorf("value after restart = %q; want v1", e.Value())
	}
}

// TestRetentionIsEnforced provisions short retention periods and watches the
// server drop what outlived them: admissions and entry claims alike.
func TestRetentionIsEnforced(t *testing.T) {
	s := bustest.Embedded(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	_, js := s.Connect(t)
	ret := bus.Retention{Admissions: time.Second, Redemptions: 2 * time.Second}
	if err := bus.ProvisionWith(ctx, js, 1, ret); err != nil {
		t.Fatal(err)
	}
	st, err := js.Stream(ctx, bus.StreamAdmissions)
	if err != nil {
		t.Fatal(err)
	}
	if c := st.CachedInfo().Config; c.MaxAge != time.Second || c.Duplicates != time.Second {
		t.Errorf("ADMISSIONS max age %v, dedup window %v; want 1s and 1s", c.MaxAge, c.Duplicates)
	}
	kv, err := js.KeyValue(ctx, bus.BucketRedemptions)
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := kv.Status(ctx); st.TTL() != 2*time.Second {
		t.Errorf("REDEMPTIONS max age %v; want 2s", st.TTL())
	}
	if _, err := js.Publish(ctx, bus.AdmissionSubject("north-1"), []byte("x"), jetstream.WithMsgID("event-1")); err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Create(ctx, bus.RedemptionKey("T1", 1), []byte("north-1")); err != nil {
		t.Fatal(err)
	}
	for {
		info, err := st.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		_, claimErr := kv.Get(ctx, bus.RedemptionKey("T1", 1))
		if info.State.Msgs == 0 && errors.Is(claimErr, jetstream.ErrKeyNotFound) {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("after a minute ADMISSIONS holds %d messages and the claim reads %v; want both gone", info.State.Msgs, claimErr)
		case <-time.After(200 * time.Millisecond):
		}
	}

	// The defaults, as documented in the README's privacy section.
	if err := bus.Provision(ctx, js, 1); err != nil {
		t.Fatal(err)
	}
	info, _ := st.Info(ctx)
	status, _ := kv.Status(ctx)
	if info.Config.MaxAge != 30*24*time.Hour || status.TTL() != 402*24*time.Hour {
		t.Errorf("default retention: ADMISSIONS %v, REDEMPTIONS %v; want 30 and 402 days", info.Config.MaxAge, status.TTL())
	}
}
