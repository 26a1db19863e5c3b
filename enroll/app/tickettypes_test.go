package app

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	"github.com/scenicgate/scenicgate/enroll/store"
	"github.com/scenicgate/scenicgate/internal/bus"
	"github.com/scenicgate/scenicgate/internal/bus/bustest"
	"github.com/scenicgate/scenicgate/internal/rules"
	"github.com/scenicgate/scenicgate/internal/signed"
	"github.com/scenicgate/scenicgate/proto/sgpb"
)

// TestTicketTypesThroughTheAPI enrolls timed, annual and multi-day tickets
// on a site in Europe/Berlin (a zone with summer time, unlike the default)
// and checks what the API answers and what reaches the gates: days start at
// the site's midnight, HH:MM slots are the site's wall-clock time, a slot
// lies inside the ticket's validity, and entries_per_day travels with the
// ticket. Refused requests answer 400 invalid_request.
func TestTicketTypesThroughTheAPI(t *testing.T) {
	srv := bustest.Embedded(t)
	cfg := DefaultConfig()
	cfg.Data, cfg.NATS, cfg.Engine, cfg.TimeZone = t.TempDir(), srv.Options(t, bus.Enroll()), engine, "Europe/Berlin"
	a, err := New(context.Background(), cfg, quietLog())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	key, err := a.Store().CreateAPIKey(context.Background(), "shop", store.ScopeShop)
	if err != nil {
		t.Fatal(err)
	}
	c := newClient(t, a, key)
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	site := rules.Site{Location: berlin}
	day := site.Day(time.Now()).AddDays(30)
	midnight := func(d rules.Date) time.Time { return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, berlin) }
	at := func(d rules.Date, hour, min int) time.Time {
		return time.Date(d.Year, d.Month, d.Day, hour, min, 0, 0, berlin)
	}

	accepted := []struct {
		name    string
		visitor map[string]any
		want    entitlementWant
	}{
		{"timed, HH:MM slot in the site's zone", map[string]any{"ticket_type": "timed", "valid_from": day.String(),
			"slot_start": "09:30", "slot_end": "11:00"},
			entitlementWant{TicketType: sgpb.TicketType_TICKET_TYPE_TIMED, EntriesAllowed: 1,
				ValidFromMs: midnight(day).UnixMilli(), ValidUntilMs: midnight(day.AddDays(1)).UnixMilli(),
				SlotStartMs: at(day, 9, 30).UnixMilli(), SlotEndMs: at(day, 11, 0).UnixMilli()}},
		{"timed, RFC 3339 slot", map[string]any{"ticket_type": "timed", "valid_from": day.String(),
			"slot_start": at(day, 14, 0).UTC().Format(time.RFC3339), "slot_end": at(day, 15, 0).UTC().Format(time.RFC3339)},
			entitlementWant{TicketType: sgpb.TicketType_TICKET_TYPE_TIMED, EntriesAllowed: 1,
				ValidFromMs: midnight(day).UnixMilli(), ValidUntilMs: midnight(day.AddDays(1)).UnixMilli(),
				SlotStartMs: at(day, 14, 0).UnixMilli(), SlotEndMs: at(day, 15, 0).UnixMilli()}},
		{"annual, a year from valid_from, two entries a day", map[string]any{"ticket_type": "annual", "valid_from": day.String(),
			"entries_per_day": 2},
			entitlementWant{TicketType: sgpb.TicketType_TICKET_TYPE_ANNUAL, EntriesPerDay: 2,
				ValidFromMs: midnight(day).UnixMilli(), ValidUntilMs: midnight(day.AddDays(365)).UnixMilli()}},
		{"multi-day, three days, one entry a day", map[string]any{"ticket_type": "multi_day", "valid_from": day.String(),
			"valid_to": day.AddDays(2).String(), "entries_per_day": 1},
			entitlementWant{TicketType: sgpb.TicketType_TICKET_TYPE_MULTI_DAY, EntriesPerDay: 1,
				ValidFromMs: midnight(day).UnixMilli(), ValidUntilMs: midnight(day.AddDays(3)).UnixMilli()}},
		{"multi-day without a daily limit", map[string]any{"ticket_type": "multi_day", "valid_from": day.String(),
			"valid_to": day.AddDays(1).String()},
			entitlementWant{TicketType: sgpb.TicketType_TICKET_TYPE_MULTI_DAY,
				ValidFromMs: midnight(day).UnixMilli(), ValidUntilMs: midnight(day.AddDays(2)).UnixMilli()}},
	}
	_, js := srv.Connect(t)
	for i, tc := range accepted {
		t.Run(tc.name, func(t *testing.T) {
			tc.visitor["name"] = "游客"
			status, body := c.postJSON("/api/v1/tickets", map[string]any{"order_id": "types-" + string(rune('a'+i)),
				"visitors": []any{tc.visitor}})
			if status != http.StatusCreated || len(tickets(body)) != 1 {
				t.Fatalf("create: %d %v; want 201 with one ticket", status, body)
			}
			tk := tickets(body)[0]
			checkTime(t, tk, "valid_start", tc.want.ValidFromMs)
			checkTime(t, tk, "valid_until", tc.want.ValidUntilMs)
			if tc.want.SlotStartMs != 0 {
				checkTime(t, tk, "slot_start", tc.want.SlotStartMs)
				checkTime(t, tk, "slot_end", tc.want.SlotEndMs)
			} else if tk["slot_start"] != nil || tk["slot_end"] != nil {
				t.Errorf("a %s ticket has a slot: %v to %v", tc.visitor["ticket_type"], tk["slot_start"], tk["slot_end"])
			}
			if got, _ := tk["entries_per_day"].(float64); int32(got) != tc.want.EntriesPerDay {
				t.Errorf("entries_per_day = %v; want %d", tk["entries_per_day"], tc.want.EntriesPerDay)
			}

			ent := published(t, js, tk["ticket_id"].(string))
			if ent.TicketType != tc.want.TicketType || ent.EntriesAllowed != tc.want.EntriesAllowed || ent.EntriesPerDay != tc.want.EntriesPerDay ||
				ent.ValidFromMs != tc.want.ValidFromMs || ent.ValidUntilMs != tc.want.ValidUntilMs ||
				ent.SlotStartMs != tc.want.SlotStartMs || ent.SlotEndMs != tc.want.SlotEndMs {
				t.Errorf("the gates get %v %d entries, %d a day, valid %d–%d, slot %d–%d;\nwant %v %d entries, %d a day, valid %d–%d, slot %d–%d",
					ent.TicketType, ent.EntriesAllowed, ent.EntriesPerDay, ent.ValidFromMs, ent.ValidUntilMs, ent.SlotStartMs, ent.SlotEndMs,
					tc.want.TicketType, tc.want.EntriesAllowed, tc.want.EntriesPerDay, tc.want.ValidFromMs, tc.want.ValidUntilMs, tc.want.SlotStartMs, tc.want.SlotEndMs)
			}
		})
	}
	if tk := tickets(mustCreate(t, c, "types-annual", map[string]any{"ticket_type": "annual", "valid_from": day.String()})); tk[0]["valid_to"] != day.AddDays(364).String() {
		t.Errorf("annual valid_to = %v; want %s, a year after valid_from", tk[0]["valid_to"], day.AddDays(364))
	}

	refused := []struct {
		name    string
		visitor map[string]any
	}{
		{"timed without a slot", map[string]any{"ticket_type": "timed", "valid_from": day.String()}},
		{"timed with an hour that does not exist", map[string]any{"ticket_type": "timed", "valid_from": day.String(), "slot_start": "25:00", "slot_end": "26:00"}},
		{"timed slot ending before it starts", map[string]any{"ticket_type": "timed", "valid_from": day.String(), "slot_start": "11:00", "slot_end": "09:30"}},
		{"timed slot the day after the ticket", map[string]any{"ticket_type": "timed", "valid_from": day.String(),
			"slot_start": at(day.AddDays(1), 9, 0).Format(time.RFC3339), "slot_end": at(day.AddDays(1), 10, 0).Format(time.RFC3339)}},
		{"timed slot starting before the ticket's first day", map[string]any{"ticket_type": "timed", "valid_from": day.String(),
			"slot_start": at(day, 0, 0).Add(-time.Hour).Format(time.RFC3339), "slot_end": at(day, 1, 0).Format(time.RFC3339)}},
		{"a slot on a day pass", map[string]any{"ticket_type": "day_pass", "valid_from": day.String(), "slot_start": "09:30", "slot_end": "11:00"}},
		{"101 entries a day", map[string]any{"ticket_type": "multi_day", "valid_from": day.String(), "valid_to": day.AddDays(1).String(), "entries_per_day": 101}},
		{"a negative daily limit", map[string]any{"ticket_type": "annual", "valid_from": day.String(), "entries_per_day": -1}},
		{"multi-day ending before it begins", map[string]any{"ticket_type": "multi_day", "valid_from": day.String(), "valid_to": day.AddDays(-1).String()}},
		{"multi-day over 400 days", map[string]any{"ticket_type": "multi_day", "valid_from": day.String(), "valid_to": day.AddDays(401).String()}},
	}
	for i, tc := range refused {
		tc.visitor["name"] = "游客"
		status, body := c.postJSON("/api/v1/tickets", map[string]any{"order_id": "refused-" + string(rune('a'+i)), "visitors": []any{tc.visitor}})
		if status != http.StatusBadRequest || errCode(body) != "invalid_request" {
			t.Errorf("%s: %d %q (%v); want 400 invalid_request", tc.name, status, errCode(body), body["error"])
		}
	}
}

// entitlementWant holds the fields of an entitlement the test checks.
type entitlementWant struct {
	TicketType                                        sgpb.TicketType
	EntriesAllowed, EntriesPerDay                     int32
	ValidFromMs, ValidUntilMs, SlotStartMs, SlotEndMs int64
}

func mustCreate(t *testing.T, c *client, order string, visitor map[string]any) map[string]any {
	t.Helper()
	visitor["name"] = "游客"
	status, body := c.postJSON("/api/v1/tickets", map[string]any{"order_id": order, "visitors": []any{visitor}})
	if status != http.StatusCreated {
		t.Fatalf("create %s: %d %v", order, status, body)
	}
	return body
}

// checkTime checks that the RFC 3339 field of a ticket is the instant ms.
func checkTime(t *testing.T, tk map[string]any, field string, ms int64) {
	t.Helper()
	s, _ := tk[field].(string)
	got, err := time.Parse(time.RFC3339, s)
	if err != nil || !got.Equal(time.UnixMilli(ms)) {
		t.Errorf("%s = %q; want %s", field, s, time.UnixMilli(ms).Format(time.RFC3339))
	}
}

// published waits for a ticket to reach the ENTITLEMENTS bucket and returns
// what the gates get.
func published(t *testing.T, js jetstream.JetStream, id string) *sgpb.Entitlement {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(time.Minute)
	for {
		kv, err := js.KeyValue(ctx, bus.BucketEntitlements)
		if err == nil {
			var e jetstream.KeyValueEntry
			if e, err = kv.Get(ctx, id); err == nil {
				ent := &sgpb.Entitlement{}
				payload, err := signed.Unwrap(e.Value())
				if err != nil {
					t.Fatal(err)
				}
				if err := proto.Unmarshal(payload, ent); err != nil {
					t.Fatal(err)
				}
				return ent
			}
		}
		if !errors.Is(err, jetstream.ErrKeyNotFound) && !errors.Is(err, jetstream.ErrBucketNotFound) {
			t.Fatal(err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("ticket %s did not reach the ENTITLEMENTS bucket within a minute", id)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
