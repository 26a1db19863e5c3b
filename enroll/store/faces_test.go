package store

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/scenicgate/scenicgate/internal/sqlitedb"
)

// TestMigrateDescriptorsPerModel opens a database written before faces had
// a descriptor per model: its dlib descriptors must survive under the name
// "dlib".
func TestMigrateDescriptorsPerModel(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	old, err := sqlitedb.Open(ctx, filepath.Join(dir, "enroll.db"), migrations[:1])
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`INSERT INTO orders VALUES ('O1', 'h', 'apikey:shop', 0)`,
		`INSERT INTO tickets (ticket_id, order_id, visitor_index, visitor_name, ticket_type, valid_from, valid_to,
			valid_from_ms, valid_until_ms, qr_token_id, qr_issued_ms, consent_ms, created_ms, updated_ms)
		 VALUES ('T1', 'O1', 0, '张三', 'single', '2026-11-26', '2026-11-26', 0, 9999999999999, 'q', 0, 0, 0, 0)`,
		`INSERT INTO faces VALUES ('F1', 'T1', 'dlib_face_recognition_resnet_model_v1', X'0000803F00000040', 200, 5)`,
	} {
		if _, err := old.Write.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	old.Close()

	s, err := Open(ctx, dir)
	if err != nil {
		t.Fatalf("Open after the schema change: %v", err)
	}
	defer s.Close()
	tk, err := s.Ticket(ctx, "T1")
	if err != nil {
		t.Fatal(err)
	}
	if len(tk.Faces) != 1 || !slices.Equal(tk.Faces[0].Models(), []string{"dlib"}) || !slices.Equal(tk.Faces[0].Descriptor("dlib", ""), []float32{1, 2}) {
		t.Fatalf("migrated faces = %+v; want F1 with its dlib descriptor [1 2]", tk.Faces)
	}
}

// TestRecomputeDescriptors adds a model's descriptor to a face whose photo
// was kept, as `enroll faces recompute` does.
func TestRecomputeDescriptors(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	o := order("o1", 3)
	o.Tickets[0].Faces[0].Photo = &Photo{MIME: "image/jpeg", Data: []byte("photo 0")}
	o.Tickets[1].Faces[0].Photo = &Photo{MIME: "image/jpeg", Data: []byte("photo 1")}
	s.SetClock(func() time.Time { return time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC) })
	if _, _, err := s.CreateOrder(ctx, o); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Revoke(ctx, "T-o1-1", "refund", "staff", false); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC).UnixMilli()
	lacking, withoutPhoto, err := s.CountFacesLacking(ctx, "new", "", now)
	if err != nil || lacking != 2 || withoutPhoto != 1 {
		t.Errorf("CountFacesLacking(new) = %d, %d, %v; want 2 faces of usable tickets, 1 of them without a photo", lacking, withoutPhoto, err)
	}
	todo, err := s.FacesLacking(ctx, "new", "", now)
	if err != nil || len(todo) != 1 || todo[0].TicketID != "T-o1-0" || string(todo[0].Photo.Data) != "photo 0" {
		t.Fatalf("FacesLacking(new) = %+v, %v; want the kept photo of T-o1-0 only (T-o1-1 revoked, T-o1-2 no photo)", todo, err)
	}
	before, _ := s.Ticket(ctx, "T-o1-0")
	tk, err := s.AddDescriptor(ctx, "T-o1-0", todo[0].FaceID, Descriptor{Model: "new", Values: []float32{0.6, 0.8}}, "cli")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(tk.Faces[0].Models(), []string{"m", "n", "new"}) || tk.Version <= before.Version {
		t.Errorf("after AddDescriptor: models %v, version %d (was %d); want m, n, new and a new version", tk.Faces[0].Models(), tk.Version, before.Version)
	}
	if todo, _ := s.FacesLacking(ctx, "new", "", now); len(todo) != 0 {
		t.Errorf("FacesLacking(new) after AddDescriptor = %d faces; want none", len(todo))
	}

	// The site moves to five-point alignment: the face lacks a five-point
	// descriptor of m although it has one aligned on dlib's landmarks, and
	// gets it beside the old one, which gates not yet moved still use.
	if lacking, _, err := s.CountFacesLacking(ctx, "m", "five-point", now); err != nil || lacking != 2 {
		t.Errorf("CountFacesLacking(m, five-point) = %d, %v; want both usable tickets' faces", lacking, err)
	}
	todo, err = s.FacesLacking(ctx, "m", "five-point", now)
	if err != nil || len(todo) != 1 {
		t.Fatalf("FacesLacking(m, five-point) = %+v, %v; want the kept photo of T-o1-0", todo, err)
	}
	old := tk.Faces[0].Descriptor("m", "")
	tk, err = s.AddDescriptor(ctx, "T-o1-0", todo[0].FaceID, Descriptor{Model: "m", Alignment: "five-point", Values: []float32{0, 1}}, "cli")
	if err != nil {
		t.Fatal(err)
	}
	if got := tk.Faces[0].Descriptor("m", "five-point"); !slices.Equal(got, []float32{0, 1}) {
		t.Errorf("five-point descriptor of m = %v; want [0 1]", got)
	}
	if got := tk.Faces[0].Descriptor("m", ""); old == nil || !slices.Equal(got, old) {
		t.Errorf("dlib-landmark descriptor of m after adding the five-point one = %v; want it kept (%v)", got, old)
	}
	if !slices.Equal(tk.Faces[0].Models(), []string{"m", "n", "new"}) {
		t.Errorf("models with two alignments of m = %v; want each model once", tk.Faces[0].Models())
	}
	e := tk.Entitlement()
	var aligned []string
	for _, f := range e.Faces {
		if f.Model == "m" {
			aligned = append(aligned, f.Alignment)
		}
	}
	if !slices.Equal(aligned, []string{"", "five-point"}) {
		t.Errorf("entitlement's descriptors of m have alignments %q; want both, for gates on either detector", aligned)
	}
	if _, err := s.AddDescriptor(ctx, "T-o1-0", "F-gone", Descriptor{Model: "new", Values: []float32{1}}, "cli"); !errors.Is(err, ErrNotFound) {
		t.Errorf("AddDescriptor(a face that is gone) = %v; want ErrNotFound", err)
	}
}

// TestMigrateScopesAndConsent opens a database written before key scopes
// and per-face consent: its keys become shop keys owning their orders, its
// faces keep the consent they were stored with, and a ticket that never had
// a face loses the consent time every ticket used to get.
func TestMigrateScopesAndConsent(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	old, err := sqlitedb.Open(ctx, filepath.Join(dir, "enroll.db"), migrations[:2])
	if err != nil {
		t.Fatal(err)
	}
	ticket := `INSERT INTO tickets (ticket_id, order_id, visitor_index, visitor_name, ticket_type, valid_from, valid_to,
		valid_from_ms, valid_until_ms, qr_token_id, qr_issued_ms, consent_ms, created_ms, updated_ms)
		VALUES (?, 'O1', ?, 'v', 'single', '2026-11-26', '2026-11-26', 0, 9999999999999, 'q', 0, 1000, 1000, 1000)`
	for _, q := range [][]any{
		{`INSERT INTO api_keys (name, prefix, hash, created_ms) VALUES ('shop', 'abcdefgh', 'x', 0)`},
		{`INSERT INTO orders VALUES ('O1', 'h', 'apikey:shop', 0)`},
		{ticket, "T-face", 0},
		{ticket, "T-erased", 1},
		{ticket, "T-none", 2},
		{`INSERT INTO faces VALUES ('F1', 'T-face', 200, 5000)`},
		{`INSERT INTO audit (at_ms, actor, action, ticket_id, order_id, detail) VALUES
			(1000, 'apikey:shop', 'ticket.create', 'T-face', 'O1', '{"faces":1}'),
			(1000, 'apikey:shop', 'ticket.create', 'T-erased', 'O1', '{"faces":1}'),
			(1000, 'apikey:shop', 'ticket.create', 'T-none', 'O1', '{"faces":0}')`},
	} {
		if _, err := old.Write.ExecContext(ctx, q[0].(string), q[1:]...); err != nil {
			t.Fatalf("%s: %v", q[0], err)
		}
	}
	old.Close()

	s, err := Open(ctx, dir)
	if err != nil {
		t.Fatalf("Open after the schema change: %v", err)
	}
	defer s.Close()
	keys, _ := s.APIKeys(ctx)
	if len(keys) != 1 || keys[0].Scope != ScopeShop {
		t.Errorf("migrated keys = %+v; want one shop key", keys)
	}
	got, total, _ := s.SearchTickets(ctx, TicketQuery{Source: "apikey:shop"})
	if total != 3 || len(got) != 3 {
		t.Errorf("the shop key's tickets after the migration: %d; want 3", total)
	}
	for id, consent := range map[string]int64{"T-face": 1000, "T-erased": 1000, "T-none": 0} {
		tk, err := s.Ticket(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if sqlitedb.Millis(tk.ConsentAt) != consent {
			t.Errorf("%s: consent at %d; want %d", id, sqlitedb.Millis(tk.ConsentAt), consent)
		}
		if id == "T-face" && (len(tk.Faces) != 1 || sqlitedb.Millis(tk.Faces[0].ConsentAt) != 5000) {
			t.Errorf("T-face's face: %+v; want consent at its creation (5000)", tk.Faces)
		}
	}
}
