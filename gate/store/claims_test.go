package store

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestClaimsLiveUntilTheirAdmissionOrTheirEnd: a claim is kept from before
// it is made until the admission that uses it is recorded, in the same
// transaction, or until it is of no more use; held ones say which entry.
func TestClaimsLiveUntilTheirAdmissionOrTheirEnd(t *testing.T) {
	ctx := context.Background()
	s, _ := openTest(t)
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	for _, c := range []Claim{
		{EventID: "e1", TicketID: "T1", Day: "2026-11-26", FirstEntry: 1, At: now, Until: now.Add(time.Hour)},
		{EventID: "e2", TicketID: "T2", Day: "2026-11-26", FirstEntry: 3, At: now.Add(time.Second), Until: now.Add(2 * time.Hour)},
		{EventID: "e3", TicketID: "T2", Day: "2026-11-27", FirstEntry: 1, At: now.Add(2 * time.Second), Until: now.Add(3 * time.Hour)},
	} {
		if err := s.BeginClaim(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.HoldClaim(ctx, "e2", "T2.4", 4); err != nil {
		t.Fatal(err)
	}
	c, err := s.ClaimOf(ctx, "T2", "")
	if err != nil || c.EventID != "e2" || !c.Held || c.Key != "T2.4" || c.EntryNumber != 4 || c.FirstEntry != 3 {
		t.Errorf("ClaimOf(T2, any day) = %+v, %v; want e2 held at T2.4, entry 4", c, err)
	}
	if c, err := s.ClaimOf(ctx, "T2", "2026-11-27"); err != nil || c.EventID != "e3" || c.Held {
		t.Errorf("ClaimOf(T2, 2026-11-27) = %+v, %v; want e3, pending", c, err)
	}
	if _, err := s.ClaimOf(ctx, "T9", ""); !errors.Is(err, ErrNotFound) {
		t.Errorf("ClaimOf(T9) error = %v; want ErrNotFound", err)
	}

	// Recording e2's admission settles its claim.
	if err := s.AddAdmission(ctx, Admission{EventID: "e2", TicketID: "T2", Allowed: true, Entry: true, EntryNumber: 4,
		Day: "2026-11-26", At: now, Payload: []byte("p")}); err != nil {
		t.Fatal(err)
	}
	if c, _ := s.ClaimOf(ctx, "T2", ""); c.EventID != "e3" {
		t.Errorf("after e2 was recorded ClaimOf(T2) = %+v; want e3", c)
	}
	// e1's ticket ends: its claim is of no more use.
	gone, err := s.PruneClaims(ctx, now.Add(90*time.Minute))
	if err != nil || len(gone) != 1 || gone[0].EventID != "e1" {
		t.Errorf("PruneClaims = %+v, %v; want e1", gone, err)
	}
	if err := s.DropClaim(ctx, "e3"); err != nil {
		t.Fatal(err)
	}
	if left, err := s.Claims(ctx); err != nil || len(left) != 0 {
		t.Errorf("Claims = %+v, %v; want none left", left, err)
	}
}

// TestAdmissionPublishedBeforeItWasWritten: one sent straight to NATS
// while the disk was full is written marked published, and not sent again.
func TestAdmissionPublishedBeforeItWasWritten(t *testing.T) {
	ctx := context.Background()
	s, _ := openTest(t)
	at := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	if err := s.AddAdmission(ctx, Admission{EventID: "sent", TicketID: "T1", At: at, Published: at.Add(time.Second), Payload: []byte("p")}); err != nil {
		t.Fatal(err)
	}
	if err := s.AddAdmission(ctx, Admission{EventID: "waiting", TicketID: "T1", At: at.Add(time.Minute), Payload: []byte("p")}); err != nil {
		t.Fatal(err)
	}
	depth, oldest, err := s.Outbox(ctx)
	if err != nil || depth != 1 || !oldest.Equal(at.Add(time.Minute)) {
		t.Errorf("Outbox = %d, %v, %v; want 1, the waiting one's time", depth, oldest, err)
	}
	if err := s.AddAdmission(ctx, Admission{EventID: "sent", TicketID: "T1", At: at, Payload: []byte("p")}); err == nil {
		t.Error("recording an event id twice worked")
	}
}
