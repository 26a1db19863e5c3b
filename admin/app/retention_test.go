package app

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/scenicgate/scenicgate/admin/store"
	"github.com/scenicgate/scenicgate/internal/rules"
	"github.com/scenicgate/scenicgate/proto/sgpb"
)

// TestAdmissionsRetention: admin keeps gate decisions for
// --admissions-retention (90 days by default) and no longer.
func TestAdmissionsRetention(t *testing.T) {
	if got := DefaultConfig().Service.AdmissionsRetention; got != 90*24*time.Hour {
		t.Errorf("default --admissions-retention %v; want 90 days, as the README says", got)
	}
	e := newEnv(t, envOptions{tune: func(c *Config) { c.Service.AdmissionsRetention = 30 * 24 * time.Hour }})
	ctx := context.Background()
	now := time.Now()
	var batch []store.Admission
	for i, age := range []time.Duration{31 * 24 * time.Hour, 30*24*time.Hour + time.Minute, 29 * 24 * time.Hour, time.Hour} {
		batch = append(batch, store.Admission{EventID: "e" + string(rune('a'+i)), GateID: "north-1", TicketID: "T1",
			Decision: sgpb.Decision_DECISION_ALLOW, Direction: sgpb.Direction_DIRECTION_ENTRY, At: now.Add(-age), EntryNumber: i + 1})
	}
	if _, err := e.admin.Store().InsertAdmissions(ctx, batch, 4, now, rules.Site{}); err != nil {
		t.Fatal(err)
	}
	n, err := e.admin.Service().PruneAdmissions(ctx)
	if err != nil || n != 2 {
		t.Fatalf("PruneAdmissions = %d, %v; want the 2 older than 30 days", n, err)
	}
	left, _ := e.admin.Store().TicketAdmissions(ctx, "T1")
	if len(left) != 2 || left[1].EventID != "ec" {
		t.Errorf("left: %v; want the decisions of 29 days and an hour ago", left)
	}

	cfg := DefaultConfig()
	cfg.Service.AdmissionsRetention = time.Hour
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "--admissions-retention") {
		t.Errorf("Validate with --admissions-retention 1h = %v; want refused", err)
	}
}
