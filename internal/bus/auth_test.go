package bus_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nkeys"

	"github.com/scenicgate/scenicgate/internal/bus"
	"github.com/scenicgate/scenicgate/internal/bus/bustest"
)

// refusedBy waits for the server to tell nc that it refused subject.
func refusedBy(t *testing.T, nc *nats.Conn, subject string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		err := nc.LastError()
		if errors.Is(err, nats.ErrPermissionViolation) && strings.Contains(err.Error(), subject) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no permissions violation for %q from the server; last error %v", subject, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func short() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 2*time.Second)
}

func TestNoCredentialsNoConnection(t *testing.T) {
	bustest.Each(t, func(t *testing.T, s *bustest.Server) {
		if nc, err := nats.Connect(s.URL, nats.Timeout(2*time.Second)); err == nil {
			nc.Close()
			t.Fatal("a client without credentials connected; want it refused")
		} else if !strings.Contains(strings.ToLower(err.Error()), "authorization") {
			t.Errorf("anonymous connect: %v; want an authorization violation", err)
		}
		// A well-formed key the site never issued fares no better.
		public, seed, err := bus.NewUserKey()
		if err != nil {
			t.Fatal(err)
		}
		kp, err := nkeysFromSeed(seed)
		if err != nil {
			t.Fatal(err)
		}
		if nc, err := nats.Connect(s.URL, nats.Nkey(public, kp.Sign), nats.Timeout(2*time.Second)); err == nil {
			nc.Close()
			t.Fatal("a client with an unissued key connected; want it refused")
		}
	})
}

func TestGateCredentialsDoOnlyAGatesWork(t *testing.T) {
	bustest.Each(t, func(t *testing.T, s *bustest.Server) {
		_, obs := s.Connect(t) // provisions, and sees everything
		obsNC, _ := s.Connect(t)
		ctx := context.Background()
		ents, err := obs.KeyValue(ctx, bus.BucketEntitlements)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ents.Put(ctx, "T1", []byte("the real entitlement")); err != nil {
			t.Fatal(err)
		}
		admissions, err := obs.Stream(ctx, bus.StreamAdmissions)
		if err != nil {
			t.Fatal(err)
		}
		commands, err := obsNC.SubscribeSync(bus.CommandSubjects)
		if err != nil {
			t.Fatal(err)
		}
		obsNC.Flush()

		gate, js := s.ConnectAs(t, bus.Gate("north-1"))

		t.Run("cannot write ENTITLEMENTS", func(t *testing.T) {
			kv, err := js.KeyValue(ctx, bus.BucketEntitlements)
			if err != nil {
				t.Fatalf("a gate cannot even bind to ENTITLEMENTS to read it: %v", err)
			}
			c, cancel := short()
			defer cancel()
			if _, err := kv.Put(c, "T1", []byte("forged")); err == nil {
				t.Fatal("a gate put an entitlement; want it refused")
			}
			refusedBy(t, gate, "$KV.ENTITLEMENTS.T1")
			if e, err := ents.Get(ctx, "T1"); err != nil || string(e.Value()) != "the real entitlement" {
				t.Errorf("T1 after the refused put: %v, %v; want it unchanged", e, err)
			}
		})
		t.Run("cannot publish another gate's admissions", func(t *testing.T) {
			before, _ := admissions.Info(ctx)
			c, cancel := short()
			defer cancel()
			if _, err := js.Publish(c, bus.AdmissionSubject("north-2"), []byte("forged")); err == nil {
				t.Fatal("gate north-1 published an admission of north-2; want it refused")
			}
			refusedBy(t, gate, "admissions.north-2")
			after, _ := admissions.Info(ctx)
			if after.State.Msgs != before.State.Msgs {
				t.Errorf("ADMISSIONS went from %d to %d messages; want unchanged", before.State.Msgs, after.State.Msgs)
			}
			// Its own admissions it may publish.
			c2, cancel2 := short()
			defer cancel2()
			if _, err := js.Publish(c2, bus.AdmissionSubject("north-1"), []byte("own"), jetstream.WithMsgID("north-1-e1")); err != nil {
				t.Errorf("gate north-1 publishing its own admission: %v", err)
			}
		})
		t.Run("cannot send a command", func(t *testing.T) {
			for _, target := range []string{"north-2", "north-1"} {
				if _, err := gate.Request(bus.CommandSubject(target), []byte("open"), time.Second); err == nil {
					t.Errorf("a gate's command to %s was answered; want it refused", target)
				}
				refusedBy(t, gate, bus.CommandSubject(target))
			}
			if m, err := commands.NextMsg(500 * time.Millisecond); err == nil {
				t.Errorf("a command from a gate reached %s; want none", m.Subject)
			}
		})
		t.Run("cannot listen to another gate's commands", func(t *testing.T) {
			sub, err := gate.SubscribeSync(bus.CommandSubject("north-2"))
			if err != nil {
				t.Fatal(err)
			}
			refusedBy(t, gate, bus.CommandSubject("north-2"))
			obsNC.Publish(bus.CommandSubject("north-2"), []byte("open"))
			if _, err := sub.NextMsg(500 * time.Millisecond); err == nil {
				t.Error("gate north-1 received north-2's command")
			}
		})
		t.Run("cannot write SITE", func(t *testing.T) {
			kv, err := js.KeyValue(ctx, bus.BucketSite)
			if err != nil {
				t.Fatal(err)
			}
			for _, key := range []string{bus.KeySettings, bus.KeyQRPublicKeys, bus.KeyOccupancy} {
				c, cancel := short()
				if _, err := kv.Put(c, key, []byte("forged")); err == nil {
					t.Errorf("a gate put SITE %s; want it refused", key)
				}
				cancel()
				refusedBy(t, gate, "$KV.SITE."+key)
			}
		})
		t.Run("claims once, and cannot take a claim back", func(t *testing.T) {
			kv, err := js.KeyValue(ctx, bus.BucketRedemptions)
			if err != nil {
				t.Fatal(err)
			}
			key := bus.RedemptionKey("T1", 1)
			if _, err := kv.Create(ctx, key, []byte("north-1")); err != nil {
				t.Fatalf("claiming an entry: %v", err)
			}
			if _, err := kv.Create(ctx, key, []byte("north-1 again")); !errors.Is(err, jetstream.ErrKeyExists) {
				t.Errorf("second claim = %v; want ErrKeyExists", err)
			}
			for name, undo := range map[string]func(context.Context) error{
				"delete": func(c context.Context) error { return kv.Delete(c, key) },
				"purge":  func(c context.Context) error { return kv.Purge(c, key) },
				"put":    func(c context.Context) error { _, err := kv.Put(c, key, []byte("free")); return err },
			} {
				c, cancel := short()
				if err := undo(c); err == nil {
					t.Errorf("%s of a claim succeeded; want it refused", name)
				}
				cancel()
			}
			e, err := kv.Get(ctx, key)
			if err != nil || string(e.Value()) != "north-1" || e.Operation() != jetstream.KeyValuePut {
				t.Errorf("claim after the attempts: %v, %v; want north-1's claim", e, err)
			}
			if _, err := kv.Create(ctx, key, []byte("north-1, third try")); !errors.Is(err, jetstream.ErrKeyExists) {
				t.Errorf("claim after the attempts = %v; want ErrKeyExists", err)
			}
		})
	})
}

func TestEnrollAndAdminStayInTheirLanes(t *testing.T) {
	bustest.Each(t, func(t *testing.T, s *bustest.Server) {
		_, obs := s.Connect(t)
		ctx := context.Background()
		gateNC, _ := s.ConnectAs(t, bus.Gate("north-1"))
		opens, err := gateNC.SubscribeSync(bus.CommandSubject("north-1"))
		if err != nil {
			t.Fatal(err)
		}
		gateNC.Flush()

		enroll, ejs := s.ConnectAs(t, bus.Enroll())
		if err := bus.Provision(ctx, ejs, 1); err != nil {
			t.Fatalf("enroll provisioning: %v", err)
		}
		kv, err := ejs.KeyValue(ctx, bus.BucketEntitlements)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := kv.Put(ctx, "T2", []byte("from enroll")); err != nil {
			t.Errorf("enroll putting an entitlement: %v", err)
		}
		enroll.Publish(bus.CommandSubject("north-1"), []byte("open"))
		refusedBy(t, enroll, bus.CommandSubject("north-1"))
		site, err := ejs.KeyValue(ctx, bus.BucketSite)
		if err != nil {
			t.Fatal(err)
		}
		c, cancel := short()
		if _, err := site.Put(c, bus.KeySettings, []byte("forged")); err == nil {
			t.Error("enroll wrote the site settings; want it refused")
		}
		cancel()

		admin, ajs := s.ConnectAs(t, bus.Admin())
		akv, err := ajs.KeyValue(ctx, bus.BucketEntitlements)
		if err != nil {
			t.Fatal(err)
		}
		c, cancel = short()
		if _, err := akv.Put(c, "T2", []byte("from admin")); err == nil {
			t.Error("admin wrote an entitlement; want it refused")
		}
		cancel()
		refusedBy(t, admin, "$KV.ENTITLEMENTS.T2")
		asite, err := ajs.KeyValue(ctx, bus.BucketSite)
		if err != nil {
			t.Fatal(err)
		}
		c, cancel = short()
		if _, err := asite.Put(c, bus.KeyQRPublicKeys, []byte("forged")); err == nil {
			t.Error("admin wrote the QR keys; want it refused")
		}
		cancel()
		if _, err := asite.Put(ctx, bus.KeySettings, []byte("from admin")); err != nil {
			t.Errorf("admin writing the settings: %v", err)
		}
		okv, _ := obs.KeyValue(ctx, bus.BucketEntitlements)
		if e, err := okv.Get(ctx, "T2"); err != nil || string(e.Value()) != "from enroll" {
			t.Errorf("T2 = %v, %v; want enroll's value", e, err)
		}

		// Only admin's command reaches the gate.
		admin.Publish(bus.CommandSubject("north-1"), []byte("open"))
		m, err := opens.NextMsg(5 * time.Second)
		if err != nil || string(m.Data) != "open" {
			t.Fatalf("admin's command: %v, %v; want it delivered", m, err)
		}
		if m, err := opens.NextMsg(300 * time.Millisecond); err == nil {
			t.Errorf("a second command arrived (%q); only admin's should", m.Data)
		}
	})
}

func TestRevokedCredentialsStopWorking(t *testing.T) {
	bustest.Each(t, func(t *testing.T, s *bustest.Server) {
		old := s.Creds(t, bus.Gate("north-1"))
		_, oldKey, err := bus.ReadCredentials(old)
		if err != nil {
			t.Fatal(err)
		}
		// Rotation: new credentials first, then the old key goes.
		_, fresh, err := s.Registry().Issue(bus.Gate("north-1"), time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Registry().Revoke(func(k bus.UserKey) bool { return k.Key == oldKey }); err != nil {
			t.Fatal(err)
		}
		s.Reload()
		if nc, err := nats.Connect(s.URL, mustNkey(t, old), nats.Timeout(2*time.Second)); err == nil {
			nc.Close()
			t.Error("revoked credentials still connect")
		}
		path := writeTemp(t, fresh)
		nc, err := nats.Connect(s.URL, mustNkey(t, path), nats.Timeout(2*time.Second))
		if err != nil {
			t.Fatalf("the new credentials: %v", err)
		}
		nc.Close()
	})
}

func nkeysFromSeed(seed []byte) (nkeys.KeyPair, error) { return nkeys.FromSeed(seed) }

func mustNkey(t *testing.T, credsFile string) nats.Option {
	t.Helper()
	opt, err := nats.NkeyOptionFromSeed(credsFile)
	if err != nil {
		t.Fatal(err)
	}
	return opt
}

func writeTemp(t *testing.T, data []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "fresh.creds")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
