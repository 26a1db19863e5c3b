package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func openTest(t *testing.T) (*Store, string) {
	t.Helper()
	dir := t.TempDir()
	s, err := Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, dir
}

// TestPruneKeepsWhatUsageNeeds: old published admissions go, except the
// entries of tickets still mirrored; unpublished ones always stay.
func TestPruneKeepsWhatUsageNeeds(t *testing.T) {
	ctx := context.Background()
	s, _ := openTest(t)
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	old, recent := now.Add(-8*24*time.Hour), now.Add(-time.Hour)
	if err := s.Apply(ctx, []Change{{TicketID: "T-held", Data: []byte("e"), Revision: 1}}, 1); err != nil {
		t.Fatal(err)
	}
	add := func(id, ticket string, allowed, entry, published bool, at time.Time) {
		t.Helper()
		if err := s.AddAdmission(ctx, Admission{EventID: id, TicketID: ticket, Allowed: allowed, Entry: entry,
			Day: "2026-11-18", At: at, Payload: []byte("p")}); err != nil {
			t.Fatal(err)
		}
		if published {
			pending, _ := s.Unpublished(ctx, 0, 100)
			for _, p := range pending {
				if p.EventID == id {
					s.MarkPublished(ctx, p.Seq, at)
				}
			}
		}
	}
	add("old-entry-held", "T-held", true, true, true, old)       // Usage still counts it
	add("old-deny-held", "T-held", false, true, true, old)       // a denial counts nothing
	add("old-exit-held", "T-held", true, false, true, old)       // nor does an exit
	add("old-entry-gone", "T-gone", true, true, true, old)       // purged from the mirror
	add("old-unknown", "", false, true, true, old)               // an unknown face
	add("old-unpublished", "T-gone", true, true, false, old)     // still to send
	add("recent-entry-gone", "T-gone", true, true, true, recent) // within the period

	n, err := s.Prune(ctx, now.Add(-7*24*time.Hour))
	if err != nil || n != 4 {
		t.Fatalf("Prune = %d, %v; want 4", n, err)
	}
	var left []string
	rows, _ := s.db.Read.Query(`SELECT event_id FROM admissions ORDER BY seq`)
	for rows.Next() {
		var id string
		rows.Scan(&id)
		left = append(left, id)
	}
	rows.Close()
	if fmt.Sprint(left) != "[old-entry-held old-unpublished recent-entry-gone]" {
		t.Errorf("left after Prune: %v; want the held ticket's entry, the unpublished one and the recent one", left)
	}
	if entries, _, _, _ := s.Usage(ctx, "T-held", "2026-11-18"); entries != 1 {
		t.Errorf("Usage of the held ticket after Prune = %d entries; want 1", entries)
	}
}

// TestRemovedEntitlementLeavesTheFiles removes and replaces entitlements
// holding distinctive bytes: afterwards neither gate.db nor its log holds
// them.
func TestRemovedEntitlementLeavesTheFiles(t *testing.T) {
	ctx := context.Background()
	s, dir := openTest(t)
	purged := bytes.Repeat([]byte("purged-face-descriptor:"), 30)
	erased := bytes.Repeat([]byte("erased-face-descriptor:"), 30)
	var changes []Change
	for i := 0; i < 20; i++ {
		data := bytes.Repeat([]byte{byte(i)}, 700)
		switch i {
		case 7:
			data = purged
		case 12:
			data = erased
		}
		changes = append(changes, Change{TicketID: fmt.Sprintf("T%02d", i), Data: data, Revision: uint64(i + 1)})
	}
	if err := s.Apply(ctx, changes, 20); err != nil {
		t.Fatal(err)
	}
	s.Scrub(ctx)
	db := filepath.Join(dir, "gate.db")
	if !fileHolds(t, db, purged) || !fileHolds(t, db, erased) {
		t.Fatal("the entitlements are not in gate.db before the removal; the test would prove nothing")
	}
	// enroll purges one ticket and republishes another without its faces.
	err := s.Apply(ctx, []Change{
		{TicketID: "T07", Revision: 21, Version: 2, Until: time.Now()},
		{TicketID: "T12", Data: []byte("the same ticket, no faces"), Revision: 22},
	}, 22)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"gate.db", "gate.db-wal"} {
		for name, b := range map[string][]byte{"purged": purged, "erased": erased} {
			if fileHolds(t, filepath.Join(dir, f), b[:64]) {
				t.Errorf("%s still holds the %s entitlement's bytes", f, name)
			}
		}
	}
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
