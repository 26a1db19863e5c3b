package app

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/scenicgate/scenicgate/internal/rules"
	"github.com/scenicgate/scenicgate/internal/testenv"
)

// daysFromToday is the site-local day n days from today.
func daysFromToday(n int) string { return rules.Site{}.Day(time.Now()).AddDays(n).String() }

// TestInputLimits sends requests over each limit: each is refused with a
// code and stores nothing.
func TestInputLimits(t *testing.T) {
	a, key := startApp(t, t.TempDir(), nil)
	c := newClient(t, a, key)
	visitor := func(change func(v map[string]any)) []byte {
		v := map[string]any{"name": "张三", "ticket_type": "single", "valid_from": today()}
		change(v)
		return mustJSON(map[string]any{"order_id": "lim-1", "visitors": []any{v}})
	}
	many := func(n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = "z" + strings.Repeat("x", i%5) + string(rune('a'+i%26)) + string(rune('a'+i/26))
		}
		return out
	}
	tests := []struct {
		name, ctype string
		body        []byte
		status      int
		code        string
	}{
		{"valid_from in year 9999", "application/json", visitor(func(v map[string]any) { v["valid_from"] = "9999-12-31" }), 400, "validity_out_of_range"},
		{"last day 401 days ahead", "application/json", visitor(func(v map[string]any) {
			v["valid_from"], v["valid_to"] = daysFromToday(1), daysFromToday(401)
		}), 400, "validity_out_of_range"},
		{"valid 401 days", "application/json", visitor(func(v map[string]any) { v["valid_to"] = daysFromToday(401) }), 400, "invalid_request"},
		{"annual ticket starting in a year", "application/json", visitor(func(v map[string]any) {
			v["ticket_type"], v["valid_from"] = "annual", daysFromToday(100)
		}), 400, "validity_out_of_range"},
		{"65 zones", "application/json", visitor(func(v map[string]any) { v["zones"] = many(65) }), 400, "too_many_zones"},
		{"65 gates", "application/json", visitor(func(v map[string]any) { v["gates"] = many(65) }), 400, "too_many_gates"},
		{"name of 65 characters", "application/json", visitor(func(v map[string]any) { v["name"] = strings.Repeat("名", 65) }), 400, "field_too_long"},
		{"phone of 21 digits", "application/json", visitor(func(v map[string]any) { v["phone"] = strings.Repeat("1", 21) }), 400, "field_too_long"},
		{"id number of 33 characters", "application/json", visitor(func(v map[string]any) { v["id_number"] = strings.Repeat("1", 33) }), 400, "field_too_long"},
		{"JSON as text/plain", "text/plain", visitor(func(map[string]any) {}), 415, "unsupported_media_type"},
		{"JSON without a content type", "", visitor(func(map[string]any) {}), 415, "unsupported_media_type"},
		{"JSON as a form", "application/x-www-form-urlencoded", visitor(func(map[string]any) {}), 415, "unsupported_media_type"},
	}
	for _, tt := range tests {
		status, body := c.do(http.MethodPost, "/api/v1/tickets", tt.ctype, tt.body)
		if status != tt.status || errCode(body) != tt.code {
			t.Errorf("%s: %d %q (%v); want %d %q", tt.name, status, errCode(body), body["error"], tt.status, tt.code)
		}
		if msg, _ := body["error"].(map[string]any)["message"].(string); msg == "" {
			t.Errorf("%s: no message", tt.name)
		}
	}
	if _, err := a.Store().Order(context.Background(), "lim-1"); err == nil {
		t.Error("a refused order was stored")
	}

	// At the limits, the order is taken.
	status, body := c.do(http.MethodPost, "/api/v1/tickets", "application/json; charset=utf-8", visitor(func(v map[string]any) {
		v["valid_to"], v["zones"], v["gates"] = daysFromToday(400), many(64), many(64)
		v["name"], v["phone"], v["id_number"] = strings.Repeat("名", 64), strings.Repeat("1", 20), strings.Repeat("1", 32)
	}))
	if status != http.StatusCreated {
		t.Fatalf("an order at every limit: %d %v; want 201", status, body)
	}
	id := tickets(body)[0]["ticket_id"].(string)
	for _, tt := range []struct {
		name, method, path, ctype string
		body                      []byte
		status                    int
		code                      string
	}{
		{"revoke as a form", http.MethodPost, "/api/v1/tickets/" + id + "/revoke", "application/x-www-form-urlencoded", []byte("reason=refund"), 415, "unsupported_media_type"},
		{"revoke with a long reason", http.MethodPost, "/api/v1/tickets/" + id + "/revoke", "application/json", mustJSON(map[string]any{"reason": strings.Repeat("r", 201)}), 400, "field_too_long"},
		{"re-issue with a text body", http.MethodPost, "/api/v1/tickets/" + id + "/qr", "text/plain", []byte("please"), 415, "unsupported_media_type"},
		{"erase with a long reason", http.MethodDelete, "/api/v1/tickets/" + id + "/biometrics?reason=" + strings.Repeat("r", 201), "", nil, 400, "field_too_long"},
		{"search with a long text", http.MethodGet, "/api/v1/tickets?q=" + strings.Repeat("q", 101), "", nil, 400, "field_too_long"},
	} {
		status, body := c.do(tt.method, tt.path, tt.ctype, tt.body)
		if status != tt.status || errCode(body) != tt.code {
			t.Errorf("%s: %d %q (%v); want %d %q", tt.name, status, errCode(body), body["error"], tt.status, tt.code)
		}
	}
	if _, got := c.do(http.MethodGet, "/api/v1/tickets/"+id, "", nil); got["revoked"] != false || got["version"].(float64) != 1 {
		t.Errorf("after the refusals the ticket is %v; want it unchanged", got)
	}
}

// TestConsentIsRecordedOnlyWhenGiven: per visitor, and per face for faces
// added later.
func TestConsentIsRecordedOnlyWhenGiven(t *testing.T) {
	a, key := startApp(t, t.TempDir(), nil)
	c := newClient(t, a, key)
	order := map[string]any{"order_id": "consent-1", "consent": false, "visitors": []any{
		map[string]any{"name": "甲", "ticket_type": "day_pass", "valid_from": today()},
		map[string]any{"name": "乙", "ticket_type": "day_pass", "valid_from": today(), "consent": true,
			"photos": []string{b64(testenv.Photo(t, "obama.jpg"))}},
	}}
	status, body := c.postJSON("/api/v1/tickets", order)
	if status != http.StatusCreated {
		t.Fatalf("create: %d %v", status, body)
	}
	tk := tickets(body)
	if tk[0]["consent_at"] != nil {
		t.Errorf("a visitor who gave no consent: consent_at %v; want none", tk[0]["consent_at"])
	}
	face := tk[1]["faces"].([]any)[0].(map[string]any)
	if tk[1]["consent_at"] == nil || face["consent_at"] != tk[1]["consent_at"] {
		t.Errorf("a visitor who consented: ticket consent %v, face consent %v; want both set, equal", tk[1]["consent_at"], face["consent_at"])
	}
	// A photo of a visitor without consent refuses the order.
	noConsent := map[string]any{"order_id": "consent-2", "visitors": []any{
		map[string]any{"name": "丙", "ticket_type": "single", "valid_from": today(), "photos": []string{b64(testenv.Photo(t, "biden.jpg"))}},
	}}
	if status, body := c.postJSON("/api/v1/tickets", noConsent); status != 422 || errCode(body) != "consent_required" {
		t.Errorf("a photo without consent: %d %q; want 422 consent_required", status, errCode(body))
	}
	// The first visitor consents later, with a face.
	time.Sleep(5 * time.Millisecond)
	id := tk[0]["ticket_id"].(string)
	status, body = c.postJSON("/api/v1/tickets/"+id+"/faces", map[string]any{
		"photos": []string{b64(testenv.Photo(t, "biden.jpg"))}, "consent": true})
	if status != 200 {
		t.Fatalf("add a face: %d %v", status, body)
	}
	face = body["faces"].([]any)[0].(map[string]any)
	if body["consent_at"] == nil || face["consent_at"] != body["consent_at"] || face["consent_at"] == tk[1]["consent_at"] {
		t.Errorf("a face added later: ticket consent %v, face consent %v; want the time it was added on both", body["consent_at"], face["consent_at"])
	}
}

// TestNoFacesForEndedTickets: a ticket that ended, and one purged, take no
// faces.
func TestNoFacesForEndedTickets(t *testing.T) {
	a, key := startApp(t, t.TempDir(), nil)
	c := newClient(t, a, key)
	_, body := c.postJSON("/api/v1/tickets", orderJSON("end-1", testenv.Photo(t, "obama.jpg")))
	id := tickets(body)[0]["ticket_id"].(string)
	addFace := func() (int, map[string]any) {
		return c.postJSON("/api/v1/tickets/"+id+"/faces", map[string]any{
			"photos": []string{b64(testenv.Photo(t, "obama2.jpg"))}, "consent": true})
	}
	tomorrow := rules.Site{}.StartOfDay(rules.Site{}.Day(time.Now()).AddDays(1))
	a.Service().SetClock(func() time.Time { return tomorrow.Add(time.Minute) })
	if status, body := addFace(); status != http.StatusConflict || errCode(body) != "ticket_ended" {
		t.Errorf("a face for an ended ticket: %d %q; want 409 ticket_ended", status, errCode(body))
	}
	if status, body := c.postJSON("/api/v1/tickets/"+id+"/qr", nil); status != http.StatusConflict || errCode(body) != "ticket_ended" {
		t.Errorf("a new QR code for an ended ticket: %d %q; want 409 ticket_ended", status, errCode(body))
	}
	if n, err := a.Service().PurgeEnded(context.Background()); err != nil || n != 1 {
		t.Fatalf("PurgeEnded = %d, %v; want 1", n, err)
	}
	if status, body := addFace(); status != http.StatusConflict || errCode(body) != "ticket_ended" {
		t.Errorf("a face for a purged ticket: %d %q; want 409 ticket_ended", status, errCode(body))
	}
	if _, got := c.do(http.MethodGet, "/api/v1/tickets/"+id, "", nil); len(got["faces"].([]any)) != 0 || got["purged_at"] == nil {
		t.Errorf("the purged ticket: %v; want purged, without faces", got)
	}
}
