package store

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/scenicgate/scenicgate/internal/rules"
	"github.com/scenicgate/scenicgate/proto/sgpb"
)

func open(t *testing.T) *Store {
	t.Helper()
	s, err := Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

var t0 = time.Date(2026, 11, 26, 9, 0, 0, 0, time.FixedZone("CST", 8*3600))

// entry is an allowed face entry of ticket at gate with entry number n.
func entry(id, ticket, gate string, n int, offline bool) Admission {
	return Admission{EventID: id, GateID: gate, TicketID: ticket, Decision: sgpb.Decision_DECISION_ALLOW, Reason: "ok",
		Method: sgpb.Method_METHOD_FACE, Direction: sgpb.Direction_DIRECTION_ENTRY, At: t0.Add(time.Duration(len(id)) * time.Minute),
		EntryNumber: n, Offline: offline}
}

// site is the site the tests' days are counted in (Asia/Shanghai).
var site = rules.Site{}

func TestConflictRule(t *testing.T) {
	exit := entry("x2", "T1", "south", 1, true)
	exit.Direction = sgpb.Direction_DIRECTION_EXIT
	manual := entry("m2", "T1", "south", 1, true)
	manual.Method = sgpb.Method_METHOD_MANUAL
	denied := entry("d2", "T1", "south", 1, true)
	denied.Decision = sgpb.Decision_DECISION_DENY
	unspecified := entry("u2", "T1", "south", 1, true)
	unspecified.Direction = sgpb.Direction_DIRECTION_UNSPECIFIED
	nextDay := entry("n22", "T1", "south", 1, true)
	nextDay.At = t0.Add(24 * time.Hour)
	single, multi, annual := sgpb.TicketType_TICKET_TYPE_SINGLE, sgpb.TicketType_TICKET_TYPE_MULTI, sgpb.TicketType_TICKET_TYPE_ANNUAL
	tests := []struct {
		name       string
		ticketType sgpb.TicketType // 0: not in the mirror
		entries    int             // entries allowed (MULTI)
		perDay     int32
		admissions []Admission
		want       int    // admissions counted by the conflict; 0 for none
		day        string // the conflict's day, for daily limits
	}{
		{"two offline gates admit a single-use ticket", single, 0, 0,
			[]Admission{entry("a1", "T1", "north", 1, true), entry("a22", "T1", "south", 1, true)}, 2, ""},
		{"a single-use ticket let in twice under two numbers", single, 0, 0,
			[]Admission{entry("a1", "T1", "north", 1, false), entry("a22", "T1", "south", 2, true)}, 2, ""},
		{"a multi ticket beyond its entries", multi, 2, 0,
			[]Admission{entry("a1", "T1", "n", 1, true), entry("a22", "T1", "s", 1, true), entry("a333", "T1", "e", 2, true)}, 3, ""},
		{"a multi ticket within its entries, numbers colliding", multi, 3, 0,
			[]Admission{entry("a1", "T1", "n", 1, true), entry("a22", "T1", "s", 1, true), entry("a333", "T1", "e", 1, true)}, 0, ""},
		{"ticket not in the mirror: one number twice is flagged", 0, 0, 0,
			[]Admission{entry("a1", "T1", "north", 1, false), entry("a22", "T1", "south", 1, true)}, 2, ""},
		{"ticket not in the mirror: two numbers are not", 0, 0, 0,
			[]Admission{entry("a1", "T1", "north", 1, false), entry("a22", "T1", "south", 2, false)}, 0, ""},
		{"a replayed event id is no conflict", single, 0, 0,
			[]Admission{entry("a1", "T1", "north", 1, true), entry("a1", "T1", "north", 1, true)}, 0, ""},
		{"exits do not count", single, 0, 0,
			[]Admission{entry("a1", "T1", "north", 1, true), exit}, 0, ""},
		{"manual opens do not count", single, 0, 0,
			[]Admission{entry("a1", "T1", "north", 1, true), manual}, 0, ""},
		{"denials do not count", single, 0, 0,
			[]Admission{entry("a1", "T1", "north", 1, true), denied}, 0, ""},
		{"unspecified direction counts as entry", single, 0, 0,
			[]Admission{entry("a1", "T1", "north", 1, true), unspecified}, 2, ""},
		{"day passes enter any number of times", sgpb.TicketType_TICKET_TYPE_DAY_PASS, 0, 0,
			[]Admission{entry("a1", "T1", "north", 1, true), entry("a22", "T1", "south", 1, true)}, 0, ""},
		{"annual pass without a daily limit", annual, 0, 0,
			[]Admission{entry("a1", "T1", "north", 1, true), entry("a22", "T1", "south", 1, true)}, 0, ""},
		{"annual pass beyond its daily limit", annual, 0, 1,
			[]Admission{entry("a1", "T1", "north", 1, true), entry("a22", "T1", "south", 2, true)}, 2, "2026-11-26"},
		{"annual pass once on each of two days", annual, 0, 1,
			[]Admission{entry("a1", "T1", "north", 1, true), nextDay}, 0, ""},
		{"other tickets do not mix", single, 0, 0,
			[]Admission{entry("a1", "T1", "north", 1, true), entry("a22", "T2", "south", 1, true)}, 0, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			ctx := context.Background()
			if tc.ticketType != 0 {
				e := Entitlement{TicketID: "T1", VisitorName: "张三", TicketType: tc.ticketType, EntriesAllowed: tc.entries,
					EntriesPerDay: int(tc.perDay), Revision: 1}
				if err := s.ApplyEntitlements(ctx, []EntitlementChange{{TicketID: "T1", Entitlement: e}}, 1); err != nil {
					t.Fatal(err)
				}
			}
			for i, a := range tc.admissions {
				if _, err := s.InsertAdmissions(ctx, []Admission{a}, uint64(i+1), t0, site); err != nil {
					t.Fatal(err)
				}
			}
			list, err := s.Conflicts(ctx, true, 10)
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case tc.want == 0 && len(list) != 0:
				t.Errorf("conflicts = %+v; want none", list)
			case tc.want > 0 && (len(list) != 1 || list[0].Admissions != tc.want || list[0].Day != tc.day):
				t.Errorf("conflicts = %+v; want one counting %d admissions on day %q", list, tc.want, tc.day)
			case tc.want > 0:
				rows, err := s.ConflictAdmissions(ctx, list[0])
				if err != nil || len(rows) != tc.want {
					t.Errorf("ConflictAdmissions = %d rows, %v; want the %d admissions it counts", len(rows), err, tc.want)
				}
			}
		})
	}
}

// TestCollidingOfflineNumbersAreNoConflict: after an outage, four offline
// gates have let a 1000-entry ticket in 80 times, each numbering the entries
// it gave from 1. Nothing was broken; nothing is flagged.
func TestCollidingOfflineNumbersAreNoConflict(t *testing.T) {
	s := open(t)
	ctx := context.Background()
	e := Entitlement{TicketID: "T1", TicketType: sgpb.TicketType_TICKET_TYPE_MULTI, EntriesAllowed: 1000, Revision: 1}
	if err := s.ApplyEntitlements(ctx, []EntitlementChange{{TicketID: "T1", Entitlement: e}}, 1); err != nil {
		t.Fatal(err)
	}
	var batch []Admission
	for gate := range 4 {
		for n := 1; n <= 20; n++ {
			a := entry(fmt.Sprintf("g%d-%d", gate, n), "T1", fmt.Sprintf("lane-%d", gate), n, true)
			a.At = t0.Add(time.Duration(len(batch)) * time.Minute)
			batch = append(batch, a)
		}
	}
	res, err := s.InsertAdmissions(ctx, batch, uint64(len(batch)), t0, site)
	if err != nil || len(res.Inserted) != 80 || len(res.Conflicts) != 0 {
		t.Fatalf("InsertAdmissions: %d inserted, conflicts %+v, %v; want 80 and none", len(res.Inserted), res.Conflicts, err)
	}
}

func TestResolvedConflictReopensOnAnotherAdmission(t *testing.T) {
	s := open(t)
	ctx := context.Background()
	res, err := s.InsertAdmissions(ctx, []Admission{entry("a1", "T1", "n", 1, true), entry("a22", "T1", "s", 1, true)}, 2, t0, site)
	if err != nil || len(res.Conflicts) != 1 || len(res.Inserted) != 2 {
		t.Fatalf("InsertAdmissions = %+v, %v; want 2 inserted and 1 conflict", res, err)
	}
	id := res.Conflicts[0].ID
	if err := s.ResolveConflict(ctx, id, "alice", "same visitor", t0); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.OpenConflicts(ctx); n != 0 {
		t.Fatalf("open conflicts after resolving = %d; want 0", n)
	}
	if _, err := s.InsertAdmissions(ctx, []Admission{entry("a333", "T1", "e", 1, true)}, 3, t0, site); err != nil {
		t.Fatal(err)
	}
	c, err := s.Conflict(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if !c.Open() || c.Admissions != 3 {
		t.Errorf("after a third admission: open %v, %d admissions; want reopened with 3", c.Open(), c.Admissions)
	}
	if err := s.ResolveConflict(ctx, 999, "alice", "x", t0); !errors.Is(err, ErrNotFound) {
		t.Errorf("ResolveConflict(999) = %v; want ErrNotFound", err)
	}
}

func TestCountsAndCursor(t *testing.T) {
	s := open(t)
	ctx := context.Background()
	var batch []Admission
	for i := 0; i < 5; i++ {
		batch = append(batch, entry(fmt.Sprintf("e%d", i), fmt.Sprintf("T%d", i), "n", 1, false))
	}
	out := entry("x1", "T0", "exit-1", 0, false)
	out.Direction = sgpb.Direction_DIRECTION_EXIT
	deny := entry("d1", "", "n", 0, false)
	deny.Decision, deny.Reason = sgpb.Decision_DECISION_DENY, "unknown"
	yesterday := entry("y1", "T9", "n", 1, false)
	yesterday.At = t0.Add(-24 * time.Hour)
	batch = append(batch, out, deny, yesterday)
	if _, err := s.InsertAdmissions(ctx, batch, 42, t0, site); err != nil {
		t.Fatal(err)
	}
	// Replaying the batch changes nothing but the cursor.
	res, err := s.InsertAdmissions(ctx, batch, 43, t0, site)
	if err != nil || len(res.Inserted) != 0 {
		t.Fatalf("replay inserted %d, %v; want 0", len(res.Inserted), err)
	}
	day := time.Date(2026, 11, 26, 0, 0, 0, 0, t0.Location())
	c, err := s.Counts(ctx, day, day.Add(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if want := (DayCounts{Entries: 5, Exits: 1, Denials: 1}); c != want || c.InPark() != 4 {
		t.Errorf("Counts = %+v (in park %d); want %+v (in park 4)", c, c.InPark(), want)
	}
	if got := (DayCounts{Entries: 1, Exits: 3}).InPark(); got != 0 {
		t.Errorf("InPark with more exits than entries = %d; want 0", got)
	}
	entries, denials, err := s.Hourly(ctx, day, 24)
	if err != nil {
		t.Fatal(err)
	}
	if entries[9] != 5 || denials[9] != 1 {
		t.Errorf("hour 9: %d entries, %d denials; want 5 and 1", entries[9], denials[9])
	}
	if seq, _ := s.Cursor(ctx, CursorAdmissions); seq != 43 {
		t.Errorf("cursor = %d; want 43", seq)
	}
}

func TestLockoutAndSessions(t *testing.T) {
	s := open(t)
	ctx := context.Background()
	u, err := s.CreateUser(ctx, "alice", Operator, "hash", t0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateUser(ctx, "ALICE", Viewer, "hash", t0); !errors.Is(err, ErrDuplicateName) {
		t.Errorf("second alice = %v; want ErrDuplicateName", err)
	}
	for i := 1; i <= 3; i++ {
		got, err := s.RecordLoginFailure(ctx, u.ID, t0, 3, 15*time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		locked := t0.Before(got.LockedUntil)
		if locked != (i == 3) {
			t.Errorf("after %d failures locked = %v", i, locked)
		}
	}
	if err := s.CreateSession(ctx, "h1", "csrf", u.ID, "127.0.0.1", t0, t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if ss, err := s.SessionByHash(ctx, "h1", t0); err != nil || ss.User.Name != "alice" || ss.User.Role != Operator {
		t.Errorf("SessionByHash = %+v, %v", ss, err)
	}
	if _, err := s.SessionByHash(ctx, "h1", t0.Add(time.Hour)); !errors.Is(err, ErrNotFound) {
		t.Errorf("expired session = %v; want ErrNotFound", err)
	}
	if err := s.SetUserDisabled(ctx, "alice", true); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SessionByHash(ctx, "h1", t0); !errors.Is(err, ErrNotFound) {
		t.Errorf("session of a disabled user = %v; want ErrNotFound", err)
	}
}

func TestRoles(t *testing.T) {
	tests := []struct {
		r, need Role
		want    bool
	}{
		{Viewer, Viewer, true}, {Viewer, Operator, false}, {Operator, Operator, true},
		{Operator, Admin, false}, {Admin, Operator, true}, {Role("root"), Viewer, false},
	}
	for _, tc := range tests {
		if got := tc.r.Allows(tc.need); got != tc.want {
			t.Errorf("%s.Allows(%s) = %v; want %v", tc.r, tc.need, got, tc.want)
		}
	}
}

// TestPruneAdmissions deletes every admission older than the cut, more than
// one batch of them, and the resolved conflicts as old; open conflicts and
// newer admissions stay.
func TestPruneAdmissions(t *testing.T) {
	s := open(t)
	ctx := context.Background()
	cut := t0.Add(-90 * 24 * time.Hour)
	var batch []Admission
	for i := 0; i < 2*pruneBatch+10; i++ {
		a := entry(fmt.Sprintf("old-%d", i), fmt.Sprintf("T%d", i), "north", 1, false)
		a.At = cut.Add(-time.Duration(i+1) * time.Second)
		batch = append(batch, a)
	}
	for i := 0; i < 5; i++ {
		a := entry(fmt.Sprintf("new-%d", i), fmt.Sprintf("N%d", i), "north", 1, false)
		a.At = cut.Add(time.Duration(i) * time.Second)
		batch = append(batch, a)
	}
	// Two conflicts from long ago: staff resolved one.
	for _, id := range []string{"c1", "c22", "d1", "d22"} {
		a := entry(id, "C-"+id[:1], "north", 1, true)
		a.At = cut.Add(-time.Hour)
		batch = append(batch, a)
	}
	res, err := s.InsertAdmissions(ctx, batch, uint64(len(batch)), t0, site)
	if err != nil || len(res.Conflicts) != 2 {
		t.Fatalf("InsertAdmissions: %d conflicts, %v; want 2", len(res.Conflicts), err)
	}
	s.ResolveConflict(ctx, res.Conflicts[0].ID, "alice", "same visitor", t0)

	admissions, conflicts, err := s.PruneAdmissions(ctx, cut)
	if err != nil || admissions != 2*pruneBatch+14 || conflicts != 1 {
		t.Fatalf("PruneAdmissions = %d admissions, %d conflicts, %v; want %d and 1", admissions, conflicts, err, 2*pruneBatch+14)
	}
	left, _ := s.RecentAdmissions(ctx, 100)
	if len(left) != 5 {
		t.Errorf("%d admissions left; want the 5 newer ones", len(left))
	}
	if n, _ := s.OpenConflicts(ctx); n != 1 {
		t.Errorf("%d open conflicts left; want the one staff have not resolved", n)
	}
	if _, err := s.Conflict(ctx, res.Conflicts[0].ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("the old resolved conflict: %v; want ErrNotFound", err)
	}
}
