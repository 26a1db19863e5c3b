package ingest_test

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	"github.com/scenicgate/scenicgate/admin/ingest"
	"github.com/scenicgate/scenicgate/admin/live"
	"github.com/scenicgate/scenicgate/admin/store"
	"github.com/scenicgate/scenicgate/internal/bus"
	"github.com/scenicgate/scenicgate/internal/bus/bustest"
	"github.com/scenicgate/scenicgate/internal/signed"
	"github.com/scenicgate/scenicgate/internal/site"
	"github.com/scenicgate/scenicgate/proto/sgpb"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// adminKey is admin's signing key; enrollKey signs the test entitlements.
var adminKey, enrollKey = newSigner(1), newSigner(2)

func newSigner(seed byte) *signed.Signer {
	s, err := signed.NewSigner(ed25519.NewKeyFromSeed(append(make([]byte, ed25519.SeedSize-1), seed)))
	if err != nil {
		panic(err)
	}
	return s
}

// entitlement is the value enroll puts for e.
func entitlement(e *sgpb.Entitlement) []byte {
	b, err := enrollKey.SignMessage(signed.Entitlement, e, time.Now())
	if err != nil {
		panic(err)
	}
	return b
}

// running starts an Ingester over st against server s and returns a
// function that stops it and waits until it has.
func running(t *testing.T, s bustest.Bus, st *store.Store, hub *live.Hub) (*ingest.Ingester, func()) {
	t.Helper()
	return runningWithLog(t, s, st, hub, quiet())
}

// logLines is a log that tests can read.
type logLines struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (l *logLines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logLines) count(s string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Count(l.buf.String(), s)
}

func runningWithLog(t *testing.T, s bustest.Bus, st *store.Store, hub *live.Hub, log *slog.Logger) (*ingest.Ingester, func()) {
	t.Helper()
	nc, err := bus.Connect(s.Options(t, bus.Admin()), bus.Admin(), bustest.Log(t))
	if err != nil {
		t.Fatal(err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ing := ingest.New(st, nc, js, hub, log, ingest.Options{OccupancyInterval: 50 * time.Millisecond, MaxBackoff: 500 * time.Millisecond, Signer: adminKey})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); ing.Run(ctx) }()
	stop := func() {
		cancel()
		<-done
		nc.Close()
	}
	t.Cleanup(func() {
		select {
		case <-done:
		default:
			stop()
		}
	})
	return ing, stop
}

func publish(t *testing.T, js jetstream.JetStream, a *sgpb.Admission) {
	t.Helper()
	b, _ := proto.Marshal(a)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := js.Publish(ctx, bus.AdmissionSubject(a.GateId), b, jetstream.WithMsgID(a.EventId)); err != nil {
		t.Fatalf("publish %s: %v", a.EventId, err)
	}
}

func admission(id, ticket string, dir sgpb.Direction) *sgpb.Admission {
	return &sgpb.Admission{EventId: id, GateId: "north-1", TicketId: ticket, Decision: sgpb.Decision_DECISION_ALLOW,
		Reason: "ok", Method: sgpb.Method_METHOD_FACE, Direction: dir, AtMs: time.Now().UnixMilli(), EntryNumber: 1}
}

// eventually polls cond every 50 ms for up to 20 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func count(t *testing.T, st *store.Store) int {
	t.Helper()
	list, err := st.RecentAdmissions(context.Background(), 1000)
	if err != nil {
		t.Fatal(err)
	}
	return len(list)
}

func occupancy(t *testing.T, js jetstream.JetStream) site.Occupancy {
	kv, err := js.KeyValue(context.Background(), bus.BucketSite)
	if err != nil {
		t.Fatal(err)
	}
	var o site.Occupancy
	if e, err := kv.Get(context.Background(), site.KeyOccupancy); err == nil {
		trusted, _ := signed.NewKeys(adminKey.PublicKey())
		if o, _, err = site.DecodeOccupancy(e.Value(), trusted); err != nil {
			t.Fatalf("the occupancy in SITE: %v", err)
		}
	}
	return o
}

func TestIngestResumesAndSurvivesOutages(t *testing.T) {
	bustest.Each(t, func(t *testing.T, s *bustest.Server) {
		_, js := s.Connect(t)
		st, err := store.Open(context.Background(), t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		hub := live.New()
		feed := hub.Subscribe()
		defer feed.Cancel()

		kv, err := js.KeyValue(context.Background(), bus.BucketEntitlements)
		if err != nil {
			t.Fatal(err)
		}
		ent := entitlement(&sgpb.Entitlement{TicketId: "T1", VisitorName: "李四", TicketType: sgpb.TicketType_TICKET_TYPE_SINGLE,
			Faces: []*sgpb.FaceDescriptor{{FaceId: "f1", Values: make([]float32, 128)}}})
		if _, err := kv.Put(context.Background(), "T1", ent); err != nil {
			t.Fatal(err)
		}
		_, stop := running(t, s, st, hub)
		eventually(t, "the entitlement in the mirror", func() bool { _, err := st.Entitlement(context.Background(), "T1"); return err == nil })

		publish(t, js, admission("e1", "T1", sgpb.Direction_DIRECTION_ENTRY))
		publish(t, js, admission("e1", "T1", sgpb.Direction_DIRECTION_ENTRY)) // deduplicated by the stream
		publish(t, js, admission("e2", "T2", sgpb.Direction_DIRECTION_ENTRY))
		// The same event resent under another message id (a gate that lost
		// its outbox bookkeeping) is stored once all the same.
		again := admission("e2", "T2", sgpb.Direction_DIRECTION_ENTRY)
		b, _ := proto.Marshal(again)
		js.Publish(context.Background(), bus.AdmissionSubject("north-1"), b, jetstream.WithMsgID("other-id"))
		publish(t, js, admission("e3", "T1", sgpb.Direction_DIRECTION_EXIT))
		eventually(t, "3 admissions stored", func() bool { return count(t, st) == 3 })
		eventually(t, "the occupancy in the SITE bucket", func() bool {
			o := occupancy(t, js)
			return o.AdmittedToday == 2 && o.InPark == 1
		})

		// The hub saw the new admission with the visitor's name.
		var named bool
		for !named {
			select {
			case ev := <-feed.C:
				named = ev.Admission != nil && ev.Admission.EventID == "e1" && ev.Admission.VisitorName == "李四"
			case <-time.After(5 * time.Second):
				t.Fatal("the hub never delivered e1 with the visitor's name")
			}
		}

		// admin stops; decisions go on; admin resumes where it stopped.
		stop()
		publish(t, js, admission("e4", "T3", sgpb.Direction_DIRECTION_ENTRY))
		_, stop = running(t, s, st, hub)
		eventually(t, "e4 after the restart", func() bool { return count(t, st) == 4 })

		// NATS goes away and comes back; nothing is lost.
		s.Stop()
		time.Sleep(300 * time.Millisecond)
		s.Start()
		_, js = s.Connect(t)
		publish(t, js, admission("e5", "T4", sgpb.Direction_DIRECTION_ENTRY))
		eventually(t, "e5 after the NATS restart", func() bool { return count(t, st) == 5 })
		stop()

		seq, _ := st.Cursor(context.Background(), store.CursorAdmissions)
		if seq != 6 { // e1, e2, e2 again, e3, e4, e5
			t.Errorf("admissions cursor = %d; want 6", seq)
		}
		for i := 1; i <= 5; i++ {
			if _, err := st.Admission(context.Background(), fmt.Sprintf("e%d", i)); err != nil {
				t.Errorf("e%d: %v", i, err)
			}
		}
	})
}

func TestEntitlementDeletesAndSettings(t *testing.T) {
	s := bustest.Embedded(t)
	_, js := s.Connect(t)
	st, err := store.Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	kv, _ := js.KeyValue(context.Background(), bus.BucketEntitlements)
	for _, id := range []string{"T1", "T2"} {
		kv.Put(context.Background(), id, entitlement(&sgpb.Entitlement{TicketId: id, VisitorName: "游客" + id}))
	}
	var logs logLines
	ing, stop := runningWithLog(t, s, st, live.New(), slog.New(slog.NewTextHandler(&logs, nil)))
	defer stop()
	eventually(t, "two tickets mirrored", func() bool { n, _ := st.EntitlementCount(context.Background()); return n == 2 })
	kv.Purge(context.Background(), "T1")
	eventually(t, "T1 removed", func() bool { n, _ := st.EntitlementCount(context.Background()); return n == 1 })

	siteKV, _ := js.KeyValue(context.Background(), bus.BucketSite)
	set := site.DefaultSettings()
	set.TimeZone, set.DailyCapacity = "UTC", 500
	if err := site.SaveSettings(context.Background(), siteKV, set, adminKey); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the settings to reach the ingester", func() bool {
		got := ing.Settings()
		return got.TimeZone == "UTC" && got.DailyCapacity == 500
	})
	// Settings admin did not sign are not taken in.
	forged := set
	forged.DailyCapacity = 1
	if err := site.SaveSettings(context.Background(), siteKV, forged, enrollKey); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the forged settings refused", func() bool { return logs.count("admin did not sign") == 1 })
	if got := ing.Settings(); got.DailyCapacity != 500 {
		t.Errorf("settings after a forgery: %+v; want daily capacity still 500", got)
	}
}

func TestOccupancyStartsAgainAtSiteMidnight(t *testing.T) {
	s := bustest.Embedded(t)
	_, js := s.Connect(t)
	st, err := store.Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	cst := time.FixedZone("CST", 8*3600)
	var mu sync.Mutex
	now := time.Date(2026, 3, 10, 23, 59, 59, 500e6, cst)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }

	nc, err := bus.Connect(s.Options(t, bus.Admin()), bus.Admin(), bustest.Log(t))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	njs, _ := jetstream.New(nc)
	ing := ingest.New(st, nc, njs, live.New(), quiet(), ingest.Options{OccupancyInterval: 20 * time.Millisecond, Now: clock, Signer: adminKey})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); ing.Run(ctx) }()
	defer func() { cancel(); <-done }()

	evening := time.Date(2026, 3, 10, 22, 0, 0, 0, cst).UnixMilli()
	for i, dir := range []sgpb.Direction{sgpb.Direction_DIRECTION_ENTRY, sgpb.Direction_DIRECTION_ENTRY, sgpb.Direction_DIRECTION_EXIT} {
		a := admission(fmt.Sprintf("late-%d", i), fmt.Sprintf("T%d", i), dir)
		a.AtMs = evening
		publish(t, js, a)
	}
	eventually(t, "the evening's occupancy", func() bool {
		o := occupancy(t, js)
		return o.Day == "2026-03-10" && o.AdmittedToday == 2 && o.InPark == 1
	})
	mu.Lock()
	now = time.Date(2026, 3, 11, 0, 0, 1, 0, cst)
	mu.Unlock()
	eventually(t, "the occupancy of the new day", func() bool {
		o := occupancy(t, js)
		return o.Day == "2026-03-11" && o.AdmittedToday == 0 && o.InPark == 0
	})
}
