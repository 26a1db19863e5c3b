package node

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gocv.io/x/gocv"
	"google.golang.org/protobuf/proto"

	"github.com/scenicgate/scenicgate/enroll/service"
	"github.com/scenicgate/scenicgate/gate/store"
	"github.com/scenicgate/scenicgate/internal/rules"
	"github.com/scenicgate/scenicgate/proto/sgpb"
)

// descriptorBytes is a descriptor as enroll stores it and as it travels in
// an entitlement (packed little-endian float32s).
func descriptorBytes(d []float32) []byte {
	b := make([]byte, 4*len(d))
	for i, v := range d {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
	}
	return b
}

// filesHolding returns which of files hold b.
func filesHolding(t *testing.T, b []byte, files ...string) []string {
	t.Helper()
	var out []string
	for _, f := range files {
		data, err := os.ReadFile(f)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(data, b) {
			out = append(out, filepath.Base(f))
		}
	}
	return out
}

// TestErasedAndPurgedFacesLeaveEveryDatabase erases one visitor's face and
// purges another's ended ticket: afterwards no byte of their descriptors
// is left in enroll.db, its write-ahead log, gate.db or the gate's log.
func TestErasedAndPurgedFacesLeaveEveryDatabase(t *testing.T) {
	s := startSite(t)
	g := startGate(t, s, "privacy-1", nil)
	ctx := context.Background()
	erased, _ := enrollTicket(t, s, "o-erase", "obama.jpg", "day_pass")
	purged, _ := enrollTicket(t, s, "o-purge", "biden.jpg", "day_pass")
	files := []string{
		filepath.Join(s.data, "enroll.db"), filepath.Join(s.data, "enroll.db-wal"),
		filepath.Join(g.dir, "gate.db"), filepath.Join(g.dir, "gate.db-wal"),
	}
	needles := map[string][]byte{}
	for _, id := range []string{erased, purged} {
		eventually(t, waitLimit, "ticket "+id+" reaches the gate with its faces", func() bool {
			e := entitlement(t, g.node, id)
			return e != nil && len(e.Faces) > 0
		})
		tk, err := s.enroll.Store().Ticket(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		// The descriptor the gate matches with: in both databases.
		needles[id] = descriptorBytes(tk.Faces[0].Descriptor(g.node.model.Name, g.node.engine.Alignment(g.node.model.Name)))
		if in := filesHolding(t, needles[id], files[:2]...); len(in) == 0 {
			t.Fatalf("ticket %s's descriptor is in neither enroll.db nor its log; the test would prove nothing", id)
		}
		if in := filesHolding(t, needles[id], files[2:]...); len(in) == 0 {
			t.Fatalf("ticket %s's descriptor is in neither gate.db nor its log; the test would prove nothing", id)
		}
	}

	if _, err := s.enroll.Service().EraseBiometrics(ctx, service.System("test"), erased, "visitor asked"); err != nil {
		t.Fatal(err)
	}
	eventually(t, waitLimit, "the erasure reaches the gate", func() bool {
		e := entitlement(t, g.node, erased)
		return e != nil && len(e.Faces) == 0
	})
	// The other ticket ends; the purge removes it everywhere.
	tomorrow := rules.Site{}.StartOfDay(rules.Site{}.Day(time.Now()).AddDays(1))
	s.enroll.Service().SetClock(func() time.Time { return tomorrow.Add(time.Minute) })
	defer s.enroll.Service().SetClock(time.Now)
	if n, err := s.enroll.Service().PurgeEnded(ctx); err != nil || n != 2 {
		t.Fatalf("PurgeEnded = %d, %v; want both tickets", n, err)
	}
	eventually(t, waitLimit, "the purge reaches the gate", func() bool { return !held(g.node, purged) })

	for id, b := range needles {
		if in := filesHolding(t, b, files...); len(in) > 0 {
			t.Errorf("ticket %s's descriptor is still in %v", id, in)
		}
	}
}

// TestReissuedQRRetiresTheOldCode: after a shop re-issues a ticket's QR
// code, the gate refuses the old code and admits the new one.
func TestReissuedQRRetiresTheOldCode(t *testing.T) {
	s := startSite(t)
	g := startGate(t, s, "qr-reissue", func(c *Config) { c.Mode = ModeFaceOrQR })
	waitForQRKey(t, g)
	id, old := enrollTicket(t, s, "o-reissue", "", "day_pass")
	eventually(t, waitLimit, "ticket reaches the gate", func() bool { return held(g.node, id) })
	before := entitlement(t, g.node, id).QrTokenId

	srv := httptest.NewServer(s.enroll.Handler())
	defer srv.Close()
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/api/v1/tickets/"+id+"/qr", nil)
	req.Header.Set("Authorization", "Bearer "+s.key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var reissued struct {
		QRToken string `json:"qr_token"`
	}
	json.NewDecoder(resp.Body).Decode(&reissued)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || reissued.QRToken == "" || reissued.QRToken == old {
		t.Fatalf("re-issue: %d, token %q; want 200 and a new token", resp.StatusCode, reissued.QRToken)
	}
	eventually(t, waitLimit, "the new QR token id reaches the gate", func() bool {
		return entitlement(t, g.node, id).QrTokenId != before
	})

	l := g.node.NewLane()
	defer l.Close()
	if out := qrDecision(t, l, old); out == nil || out.Allow || out.Reason != ReasonBadQR {
		t.Fatalf("the old QR code: %+v; want deny %s", out, ReasonBadQR)
	}
	if out := qrDecision(t, l, reissued.QRToken); out == nil || !out.Allow || out.Admission.Method != sgpb.Method_METHOD_QR {
		t.Fatalf("the new QR code: %+v; want allow by QR", out)
	}
}

// qrDecision holds a QR code up to the lane, then an empty view, until the
// lane decides (at most waitLimit): a lane may act on a code on the frame
// that shows it or on a later one.
func qrDecision(t testing.TB, l *Lane, text string) *Outcome {
	t.Helper()
	ctx := context.Background()
	out, err := l.Frame(ctx, qrFrame(t, text), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	// The QR reader looks at the newest frame when it is free: let it see
	// the code before the empty view replaces it.
	l.qr.settle()
	blank := gocv.NewMatWithSizeFromScalar(gocv.NewScalar(200, 200, 200, 0), 480, 640, gocv.MatTypeCV8UC3)
	defer blank.Close()
	for start := time.Now(); out == nil && time.Since(start) < waitLimit; {
		time.Sleep(20 * time.Millisecond)
		if out, err = l.Frame(ctx, blank, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// TestGatePrunesItsHistory: a gate started with decisions older than
// --admissions-retention deletes those NATS has, and sends the others first.
func TestGatePrunesItsHistory(t *testing.T) {
	s := startSite(t)
	dir := t.TempDir()
	st, err := store.Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	old := time.Now().Add(-8 * 24 * time.Hour)
	for _, id := range []string{"old-published", "old-unsent"} {
		a := &sgpb.Admission{EventId: id, GateId: "prune-1", TicketId: "T-gone", Decision: sgpb.Decision_DECISION_ALLOW, AtMs: old.UnixMilli()}
		payload, _ := proto.Marshal(a)
		if err := st.AddAdmission(ctx, store.Admission{EventID: id, TicketID: "T-gone", Allowed: true, Entry: true,
			Day: rules.Site{}.Day(old).String(), At: old, Payload: payload}); err != nil {
			t.Fatal(err)
		}
	}
	pending, _ := st.Unpublished(ctx, 0, 10)
	st.MarkPublished(ctx, pending[0].Seq, old)
	if entries, _, _, _ := st.Usage(ctx, "T-gone", ""); entries != 2 {
		t.Fatalf("%d decisions stored before the gate starts; want 2", entries)
	}
	st.Close()

	g := startGate(t, s, "prune-1", func(c *Config) { c.Data = dir })
	eventually(t, waitLimit, "the old published decision is pruned", func() bool {
		entries, _, _, err := g.node.Store().Usage(ctx, "T-gone", "")
		return err == nil && entries <= 1
	})
	// The unsent one was not lost: it reached NATS.
	got := admissions(t, s)(1)
	if len(got) != 1 || got[0].EventId != "old-unsent" {
		t.Errorf("ADMISSIONS holds %v; want the decision that was not sent yet", got)
	}

	c := DefaultConfig()
	c.TrustEnroll, c.TrustAdmin = "enroll-key", "admin-key"
	c.AdmissionsRetention = time.Hour
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "--admissions-retention") {
		t.Errorf("Validate with --admissions-retention 1h = %v; want refused", err)
	}
}
