package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func openTest(t *testing.T) *Store {
	t.Helper()
	s, err := Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func descriptor(seed float32) []float32 {
	d := make([]float32, 128)
	for i := range d {
		d[i] = seed + float32(i)/1000
	}
	return d
}

func order(id string, visitors int) NewOrder {
	day := time.Date(2026, 11, 26, 0, 0, 0, 0, time.FixedZone("CST", 8*3600))
	o := NewOrder{OrderID: id, RequestHash: "h-" + id, Source: "apikey:shop1"}
	for i := 0; i < visitors; i++ {
		o.Tickets = append(o.Tickets, NewTicket{
			Ticket: Ticket{
				ID: fmt.Sprintf("T-%s-%d", id, i), VisitorIndex: i, VisitorName: fmt.Sprintf("张%d", i),
				Phone: "1380013800" + fmt.Sprint(i), Type: "single", ValidFrom: "2026-11-26", ValidTo: "2026-11-26",
				ValidStart: day, ValidUntil: day.Add(24 * time.Hour), Zones: []string{"main"},
				QRTokenID: fmt.Sprintf("q%d", i), QRIssuedAt: day, ConsentAt: day,
			},
			Faces: []NewFace{{ID: fmt.Sprintf("F-%s-%d", id, i), Size: 200, ConsentAt: day, Descriptors: []Descriptor{
				{Model: "m", Values: descriptor(float32(i))}, {Model: "n", Values: descriptor(float32(i + 10))[:3]},
			}}},
		})
	}
	return o
}

func TestCreateOrderReplayAndConflict(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	tickets, created, err := s.CreateOrder(ctx, order("o1", 2))
	if err != nil || !created || len(tickets) != 2 {
		t.Fatalf("CreateOrder = %d tickets, created %v, %v; want 2, true, nil", len(tickets), created, err)
	}
	if got := tickets[1].Faces[0].Descriptor("m", ""); len(got) != len(descriptor(1)) || got[5] != descriptor(1)[5] {
		t.Errorf("stored m descriptor = %v; want %v", got, descriptor(1))
	}
	if got := tickets[1].Faces[0].Descriptor("n", ""); len(got) != 3 || got[2] != descriptor(11)[2] {
		t.Errorf("stored n descriptor = %v; want the first 3 values of %v", got, descriptor(11))
	}
	if e := tickets[1].Entitlement(); len(e.Faces) != 2 || e.Faces[0].FaceId != e.Faces[1].FaceId || e.Faces[0].Model != "m" || e.Faces[1].Model != "n" {
		t.Errorf("entitlement faces = %v; want one face described by m and n", e.Faces)
	}
	again, created, err := s.CreateOrder(ctx, order("o1", 2))
	if err != nil || created || len(again) != 2 || again[0].ID != tickets[0].ID {
		t.Fatalf("replay = %v, created %v, %v; want the same tickets, false, nil", again, created, err)
	}
	other := order("o1", 1)
	other.RequestHash = "different"
	if _, _, err := s.CreateOrder(ctx, other); !errors.Is(err, ErrOrderConflict) {
		t.Fatalf("CreateOrder with other content = %v; want ErrOrderConflict", err)
	}
	if n, _ := s.OutboxDepth(ctx); n != 2 {
		t.Errorf("outbox depth = %d; want 2 (one per ticket, none for the replay)", n)
	}
}

func TestFailedOrderLeavesNothing(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	o := order("o2", 2)
	o.Tickets[1].ID = o.Tickets[0].ID // the second insert fails on the primary key
	if _, _, err := s.CreateOrder(ctx, o); err == nil {
		t.Fatal("CreateOrder with duplicate ticket ids succeeded")
	}
	if _, err := s.OrderHash(ctx, "o2"); !errors.Is(err, ErrNotFound) {
		t.Errorf("OrderHash after failed create = %v; want ErrNotFound", err)
	}
	if n, _ := s.OutboxDepth(ctx); n != 0 {
		t.Errorf("outbox depth = %d; want 0", n)
	}
}

func TestRevokeErasesFacesAndQueues(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	tickets, _, _ := s.CreateOrder(ctx, order("o3", 1))
	id := tickets[0].ID
	items, _ := s.Outbox(ctx, 10)
	for _, it := range items {
		s.OutboxDone(ctx, it.TicketID, it.Seq)
	}
	got, err := s.Revoke(ctx, id, "refund", "apikey:shop1", true)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Revoked || got.RevokeReason != "refund" || len(got.Faces) != 0 || got.ErasedAt.IsZero() || got.Version != 2 {
		t.Errorf("after Revoke: revoked %v reason %q faces %d erased %v version %d; want true refund 0 set 2",
			got.Revoked, got.RevokeReason, len(got.Faces), got.ErasedAt, got.Version)
	}
	again, err := s.Revoke(ctx, id, "other", "x", true)
	if err != nil || again.Version != 2 || again.RevokeReason != "refund" {
		t.Errorf("second Revoke = version %d reason %q err %v; want no change", again.Version, again.RevokeReason, err)
	}
	if n, _ := s.OutboxDepth(ctx); n != 1 {
		t.Errorf("outbox depth = %d; want 1", n)
	}
	if _, err := s.SetFaces(ctx, id, []NewFace{{ID: "F9", Descriptors: []Descriptor{{Model: "m", Values: descriptor(9)}}}}, false, "x"); !errors.Is(err, ErrRevoked) {
		t.Errorf("SetFaces on a revoked ticket = %v; want ErrRevoked", err)
	}
	if _, err := s.Revoke(ctx, "nope", "x", "x", true); !errors.Is(err, ErrNotFound) {
		t.Errorf("Revoke(nope) = %v; want ErrNotFound", err)
	}
	entries, _ := s.Audit(ctx, id, 10)
	if len(entries) != 2 || entries[0].Action != "ticket.revoke" {
		t.Errorf("audit = %+v; want create and revoke", entries)
	}
}

func TestOutboxCoalescesByTicket(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	tickets, _, _ := s.CreateOrder(ctx, order("o4", 1))
	id := tickets[0].ID
	s.EraseBiometrics(ctx, id, "x", "asked")
	items, err := s.Outbox(ctx, 10)
	if err != nil || len(items) != 2 {
		t.Fatalf("Outbox = %v, %v; want 2 items", items, err)
	}
	if err := s.OutboxDone(ctx, id, items[1].Seq); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.OutboxDepth(ctx); n != 0 {
		t.Errorf("outbox depth after publishing the newest state = %d; want 0", n)
	}
}

func TestPurgeEnded(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	tickets, _, _ := s.CreateOrder(ctx, order("o5", 1))
	end := tickets[0].ValidUntil
	if n, err := s.PurgeEnded(ctx, end.Add(-time.Second), "system"); err != nil || n != 0 {
		t.Fatalf("PurgeEnded before the end = %d, %v; want 0", n, err)
	}
	if n, err := s.PurgeEnded(ctx, end, "system"); err != nil || n != 1 {
		t.Fatalf("PurgeEnded at the end = %d, %v; want 1", n, err)
	}
	if n, _ := s.PurgeEnded(ctx, end.Add(time.Hour), "system"); n != 0 {
		t.Errorf("second PurgeEnded = %d; want 0", n)
	}
	got, _ := s.Ticket(ctx, tickets[0].ID)
	if len(got.Faces) != 0 || got.PurgedAt.IsZero() {
		t.Errorf("purged ticket has %d faces, purged at %v", len(got.Faces), got.PurgedAt)
	}
}

func TestSearchTickets(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	s.CreateOrder(ctx, order("o6", 3))
	s.CreateOrder(ctx, order("o7", 1))
	day := time.Date(2026, 11, 26, 0, 0, 0, 0, time.FixedZone("CST", 8*3600))
	tests := []struct {
		q    TicketQuery
		want int
	}{
		{TicketQuery{}, 4},
		{TicketQuery{OrderID: "o6"}, 3},
		{TicketQuery{Text: "T-o7-0"}, 1},
		{TicketQuery{Text: "张1"}, 1},
		{TicketQuery{Text: "张"}, 4},
		{TicketQuery{Text: "38002"}, 1},
		{TicketQuery{Text: "%"}, 0},
		{TicketQuery{ValidOnStart: day, ValidOnEnd: day.Add(24 * time.Hour)}, 4},
		{TicketQuery{ValidOnStart: day.Add(24 * time.Hour), ValidOnEnd: day.Add(48 * time.Hour)}, 0},
	}
	for _, tt := range tests {
		got, total, err := s.SearchTickets(ctx, tt.q)
		if err != nil || total != tt.want || len(got) != tt.want {
			t.Errorf("SearchTickets(%+v) = %d (total %d), %v; want %d", tt.q, len(got), total, err, tt.want)
		}
	}
}

func TestAPIKeys(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	key, err := s.CreateAPIKey(ctx, "shop1", ScopeShop)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateAPIKey(ctx, "shop1", ScopeStaff); !errors.Is(err, ErrDuplicateName) {
		t.Errorf("second key named shop1: %v; want ErrDuplicateName", err)
	}
	if _, err := s.CreateAPIKey(ctx, "shop2", Scope("root")); err == nil {
		t.Error("a key with scope root was created")
	}
	if k, err := s.AuthenticateAPIKey(ctx, key); err != nil || k.Name != "shop1" || k.Scope != ScopeShop || k.Source() != "apikey:shop1" {
		t.Errorf("AuthenticateAPIKey = %+v, %v; want shop1, a shop key", k, err)
	}
	flipped := key[:len(key)-1] + map[bool]string{true: "b", false: "a"}[key[len(key)-1] == 'a']
	for _, bad := range []string{"", "sgk_", key + "x", flipped, "Bearer " + key} {
		if _, err := s.AuthenticateAPIKey(ctx, bad); !errors.Is(err, ErrBadAPIKey) {
			t.Errorf("AuthenticateAPIKey(%q) = %v; want ErrBadAPIKey", bad, err)
		}
	}
	if err := s.RevokeAPIKey(ctx, "shop1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AuthenticateAPIKey(ctx, key); !errors.Is(err, ErrBadAPIKey) {
		t.Errorf("revoked key authenticates: %v", err)
	}

	// A shop that lost its key gets a new one under the same name, so it
	// keeps its orders; the old key stays dead.
	fresh, err := s.RotateAPIKey(ctx, "shop1")
	if err != nil {
		t.Fatal(err)
	}
	if k, err := s.AuthenticateAPIKey(ctx, fresh); err != nil || k.Name != "shop1" || k.Scope != ScopeShop {
		t.Errorf("rotated key = %+v, %v; want shop1, a shop key", k, err)
	}
	if _, err := s.AuthenticateAPIKey(ctx, key); !errors.Is(err, ErrBadAPIKey) {
		t.Errorf("the key before the rotation authenticates: %v", err)
	}
	if _, err := s.RotateAPIKey(ctx, "nobody"); !errors.Is(err, ErrNotFound) {
		t.Errorf("RotateAPIKey(nobody) = %v; want ErrNotFound", err)
	}
	if err := s.SetAPIKeyScope(ctx, "shop1", ScopeStaff); err != nil {
		t.Fatal(err)
	}
	if k, _ := s.AuthenticateAPIKey(ctx, fresh); k.Scope != ScopeStaff {
		t.Errorf("after SetAPIKeyScope(staff): scope %q", k.Scope)
	}
	keys, _ := s.APIKeys(ctx)
	if len(keys) != 1 || keys[0].Scope != ScopeStaff || !keys[0].RevokedAt.IsZero() {
		t.Errorf("APIKeys = %+v; want shop1, staff, not revoked", keys)
	}
}

func TestOrdersBelongToTheirSource(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	tickets, _, err := s.CreateOrder(ctx, order("o8", 1))
	if err != nil {
		t.Fatal(err)
	}
	if tickets[0].Source != "apikey:shop1" {
		t.Errorf("ticket source = %q; want apikey:shop1", tickets[0].Source)
	}
	// The same order id and content from another shop is not a replay.
	theirs := order("o8", 1)
	theirs.Source = "apikey:shop2"
	if _, _, err := s.CreateOrder(ctx, theirs); !errors.Is(err, ErrOrderConflict) {
		t.Errorf("the same order from another source = %v; want ErrOrderConflict", err)
	}
	other := order("o9", 2)
	other.Source = "apikey:shop2"
	s.CreateOrder(ctx, other)
	for source, want := range map[string]int{"apikey:shop1": 1, "apikey:shop2": 2, "": 3, "apikey:shop3": 0} {
		got, total, err := s.SearchTickets(ctx, TicketQuery{Source: source})
		if err != nil || total != want || len(got) != want {
			t.Errorf("SearchTickets(source %q) = %d (total %d), %v; want %d", source, len(got), total, err, want)
		}
		for _, tk := range got {
			if source != "" && tk.Source != source {
				t.Errorf("SearchTickets(source %q) returned a ticket of %q", source, tk.Source)
			}
		}
	}
}

func TestReissueQR(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	s.SetClock(func() time.Time { return time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC) })
	tickets, _, _ := s.CreateOrder(ctx, order("o10", 2))
	got, err := s.ReissueQR(ctx, tickets[0].ID, "q-new", "apikey:shop1", "lost phone")
	if err != nil {
		t.Fatal(err)
	}
	if got.QRTokenID != "q-new" || got.Version != 2 || !got.QRIssuedAt.Equal(time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)) {
		t.Errorf("after ReissueQR: token %q version %d issued %v; want q-new, 2, now", got.QRTokenID, got.Version, got.QRIssuedAt)
	}
	if n, _ := s.OutboxDepth(ctx); n != 3 {
		t.Errorf("outbox depth = %d; want 3 (two creates, the re-issue)", n)
	}
	s.Revoke(ctx, tickets[1].ID, "refund", "x", true)
	if _, err := s.ReissueQR(ctx, tickets[1].ID, "q", "x", ""); !errors.Is(err, ErrRevoked) {
		t.Errorf("ReissueQR of a revoked ticket = %v; want ErrRevoked", err)
	}
	s.SetClock(func() time.Time { return tickets[0].ValidUntil })
	if _, err := s.ReissueQR(ctx, tickets[0].ID, "q", "x", ""); !errors.Is(err, ErrEnded) {
		t.Errorf("ReissueQR of an ended ticket = %v; want ErrEnded", err)
	}
}

func TestNoFacesForAPurgedTicket(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	tickets, _, _ := s.CreateOrder(ctx, order("o11", 1))
	s.PurgeEnded(ctx, tickets[0].ValidUntil, "system")
	face := NewFace{ID: "F-late", ConsentAt: time.Now(), Descriptors: []Descriptor{{Model: "m", Values: descriptor(3)}}}
	if _, err := s.SetFaces(ctx, tickets[0].ID, []NewFace{face}, false, "x"); !errors.Is(err, ErrEnded) {
		t.Errorf("SetFaces on a purged ticket = %v; want ErrEnded", err)
	}
	if got, _ := s.Ticket(ctx, tickets[0].ID); len(got.Faces) != 0 {
		t.Errorf("the purged ticket has %d faces; want 0", len(got.Faces))
	}
}

func TestConsentIsPerFace(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	o := order("o12", 1)
	o.Tickets[0].ConsentAt = time.Time{}
	o.Tickets[0].Faces = nil // a visitor who sent no photo and gave no consent
	tickets, _, err := s.CreateOrder(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	if !tickets[0].ConsentAt.IsZero() {
		t.Errorf("a ticket without consent has ConsentAt %v; want zero", tickets[0].ConsentAt)
	}
	later := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	face := NewFace{ID: "F-later", ConsentAt: later, Descriptors: []Descriptor{{Model: "m", Values: descriptor(4)}}}
	got, err := s.SetFaces(ctx, tickets[0].ID, []NewFace{face}, false, "x")
	if err != nil {
		t.Fatal(err)
	}
	if !got.ConsentAt.Equal(later) || len(got.Faces) != 1 || !got.Faces[0].ConsentAt.Equal(later) {
		t.Errorf("after a face added with consent: ticket consent %v, faces %+v; want %v on both", got.ConsentAt, got.Faces, later)
	}
	unconsented := NewFace{ID: "F-none", Descriptors: []Descriptor{{Model: "m", Values: descriptor(5)}}}
	if _, err := s.SetFaces(ctx, tickets[0].ID, []NewFace{unconsented}, false, "x"); err == nil {
		t.Error("a face without a consent time was stored")
	}
}

// TestPurgeRunsUntilNothingIsDue purges 3,000 ended tickets in one call and
// checks that their descriptors are gone from the database file and its
// write-ahead log afterwards.
func TestPurgeRunsUntilNothingIsDue(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const orders, visitors = 60, 50
	var end time.Time
	for i := 0; i < orders; i++ {
		tickets, _, err := s.CreateOrder(ctx, order(fmt.Sprintf("p%d", i), visitors))
		if err != nil {
			t.Fatal(err)
		}
		end = tickets[0].ValidUntil
	}
	// One descriptor to look for in the files: visitor 7's, of every order.
	needle := descriptorBytes(descriptor(7))
	s.Scrub(ctx)
	if !fileHolds(t, filepath.Join(dir, "enroll.db"), needle) {
		t.Fatal("the descriptor is not in enroll.db before the purge; the test would prove nothing")
	}
	n, err := s.PurgeEnded(ctx, end, "system:purge")
	if err != nil || n != orders*visitors {
		t.Fatalf("PurgeEnded = %d, %v; want %d in one run", n, err, orders*visitors)
	}
	if again, _ := s.PurgeEnded(ctx, end, "system:purge"); again != 0 {
		t.Errorf("second PurgeEnded = %d; want 0", again)
	}
	var faces, descriptors, outbox int
	s.db.Read.QueryRow(`SELECT (SELECT count(*) FROM faces), (SELECT count(*) FROM descriptors), (SELECT count(*) FROM outbox WHERE op = 'purge')`).
		Scan(&faces, &descriptors, &outbox)
	if faces != 0 || descriptors != 0 || outbox != orders*visitors {
		t.Errorf("after the purge: %d faces, %d descriptors, %d purges queued; want 0, 0, %d", faces, descriptors, outbox, orders*visitors)
	}
	if err := s.Scrub(ctx); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"enroll.db", "enroll.db-wal"} {
		if fileHolds(t, filepath.Join(dir, f), needle) {
			t.Errorf("%s still holds a purged descriptor", f)
		}
	}
}

func descriptorBytes(d []float32) []byte {
	b := make([]byte, 4*len(d))
	for i, v := range d {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
	}
	return b
}

func fileHolds(t *testing.T, path string, b []byte) bool {
	t.Helper()
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return false
	}
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Contains(data, b)
}
