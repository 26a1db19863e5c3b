package app

import (
	"context"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/scenicgate/scenicgate/enroll/store"
	"github.com/scenicgate/scenicgate/internal/testenv"
)

// TestShopKeySeesOnlyItsOwnTickets: shop B cannot read, change or even
// detect shop A's ticket; staff see it without its QR token; duplicate
// warnings name no other shop's ticket; reads are audited by key name.
func TestShopKeySeesOnlyItsOwnTickets(t *testing.T) {
	a, keyA := startApp(t, t.TempDir(), nil)
	ctx := context.Background()
	keyB, err := a.Store().CreateAPIKey(ctx, "shop-b", store.ScopeShop)
	if err != nil {
		t.Fatal(err)
	}
	staffKey, err := a.Store().CreateAPIKey(ctx, "admin", store.ScopeStaff)
	if err != nil {
		t.Fatal(err)
	}
	shopA, shopB, staff := newClient(t, a, keyA), newClient(t, a, keyB), newClient(t, a, staffKey)

	status, body := shopA.postJSON("/api/v1/tickets", orderJSON("a-1", testenv.Photo(t, "obama.jpg")))
	if status != http.StatusCreated {
		t.Fatalf("shop A creates: %d %v", status, body)
	}
	mine := tickets(body)[0]
	id, token := mine["ticket_id"].(string), mine["qr_token"].(string)
	if token == "" {
		t.Fatal("the shop that sold the ticket got no QR token")
	}

	// Shop B: the ticket does not exist, whatever it tries.
	_, missing := shopB.do(http.MethodGet, "/api/v1/tickets/TNOSUCHTICKET", "", nil)
	attempts := []struct {
		method, path, ctype string
		body                []byte
	}{
		{http.MethodGet, "/api/v1/tickets/" + id, "", nil},
		{http.MethodGet, "/api/v1/tickets/" + id + "/audit", "", nil},
		{http.MethodPost, "/api/v1/tickets/" + id + "/revoke", "application/json", mustJSON(map[string]any{"reason": "refund"})},
		{http.MethodPost, "/api/v1/tickets/" + id + "/faces", "application/json", mustJSON(map[string]any{
			"photos": []string{b64(testenv.Photo(t, "biden.jpg"))}, "replace": true, "consent": true})},
		{http.MethodDelete, "/api/v1/tickets/" + id + "/biometrics?reason=x", "", nil},
		{http.MethodPost, "/api/v1/tickets/" + id + "/qr", "", nil},
	}
	for _, at := range attempts {
		status, got := shopB.do(at.method, at.path, at.ctype, at.body)
		if status != http.StatusNotFound || !reflect.DeepEqual(got, missing) {
			t.Errorf("shop B %s %s: %d %v; want 404 exactly as for a missing ticket (%v)", at.method, at.path, status, got, missing)
		}
	}
	for _, q := range []string{"", "?q=" + id, "?order=a-1", "?q=%E5%BC%A0"} {
		if _, list := shopB.do(http.MethodGet, "/api/v1/tickets"+q, "", nil); list["total"].(float64) != 0 {
			t.Errorf("shop B lists %v of shop A's tickets with %q; want 0", list["total"], q)
		}
	}
	// The same order id, even with the same content, is not B's replay.
	if status, got := shopB.postJSON("/api/v1/tickets", orderJSON("a-1", testenv.Photo(t, "obama.jpg"))); status != http.StatusConflict ||
		errCode(got) != "order_conflict" || got["tickets"] != nil {
		t.Errorf("shop B sends shop A's order: %d %v; want 409 order_conflict without tickets", status, got)
	}
	// The same face enrolled by B: a warning that names nothing of A's.
	status, body = shopB.postJSON("/api/v1/tickets", orderJSON("b-1", testenv.Photo(t, "32bit.png")))
	if status != http.StatusCreated {
		t.Fatalf("shop B creates: %d %v", status, body)
	}
	w, _ := tickets(body)[0]["warnings"].([]any)
	if len(w) != 1 || w[0].(map[string]any)["code"] != "duplicate_face" || w[0].(map[string]any)["ticket_id"] != nil ||
		strings.Contains(w[0].(map[string]any)["message"].(string), id) {
		t.Errorf("shop B enrolls shop A's visitor: warnings %v; want one duplicate_face naming no ticket", w)
	}
	// Nothing B tried changed A's ticket.
	status, got := shopA.do(http.MethodGet, "/api/v1/tickets/"+id, "", nil)
	if status != 200 || got["revoked"] != false || len(got["faces"].([]any)) != 1 || got["qr_token"] != token {
		t.Errorf("shop A's ticket after shop B's attempts: %d %v; want unchanged", status, got)
	}
	if _, list := shopA.do(http.MethodGet, "/api/v1/tickets", "", nil); list["total"].(float64) != 1 {
		t.Errorf("shop A lists %v tickets; want its 1", list["total"])
	}

	// Staff see every ticket, without QR tokens, and change no orders.
	_, list := staff.do(http.MethodGet, "/api/v1/tickets", "", nil)
	if list["total"].(float64) != 2 {
		t.Errorf("staff list %v tickets; want 2", list["total"])
	}
	for _, tk := range tickets(list) {
		if tk["qr_token"] != nil {
			t.Errorf("staff search shows the QR token of %v", tk["ticket_id"])
		}
	}
	status, got = staff.do(http.MethodGet, "/api/v1/tickets/"+id, "", nil)
	if status != 200 || got["qr_token"] != nil || got["name"] != "张三" {
		t.Errorf("staff read: %d %v; want the ticket without its QR token", status, got)
	}
	if status, got := staff.postJSON("/api/v1/tickets", orderJSON("s-1")); status != http.StatusForbidden || errCode(got) != "forbidden" {
		t.Errorf("staff create an order: %d %q; want 403 forbidden", status, errCode(got))
	}
	if status, got := staff.postJSON("/api/v1/tickets/"+id+"/faces", map[string]any{
		"photos": []string{b64(testenv.Photo(t, "obama2.jpg"))}, "consent": true}); status != http.StatusForbidden || errCode(got) != "forbidden" {
		t.Errorf("staff add a face: %d %q; want 403 forbidden", status, errCode(got))
	}

	// Staff re-issue the QR code: they get the new token, the old one is
	// retired, and the shop sees the new one.
	status, got = staff.postJSON("/api/v1/tickets/"+id+"/qr", map[string]any{"reason": "visitor lost the phone"})
	if status != 200 || got["qr_token"] == nil || got["qr_token"] == token {
		t.Fatalf("staff re-issue: %d %v; want a new QR token", status, got)
	}
	newToken := got["qr_token"]
	if _, got = shopA.do(http.MethodGet, "/api/v1/tickets/"+id, "", nil); got["qr_token"] != newToken {
		t.Errorf("shop A reads QR token %v after the re-issue; want %v", got["qr_token"], newToken)
	}

	// The audit log names who read the visitor's data.
	_, audit := shopA.do(http.MethodGet, "/api/v1/tickets/"+id+"/audit", "", nil)
	seen := map[string]bool{}
	for _, r := range audit["audit"].([]any) {
		row := r.(map[string]any)
		seen[row["actor"].(string)+" "+row["action"].(string)] = true
	}
	for _, want := range []string{"apikey:admin ticket.read", "apikey:admin ticket.search", "apikey:admin ticket.qr_reissue",
		"apikey:" + shopName(a) + " ticket.read", "apikey:" + shopName(a) + " ticket.search"} {
		if !seen[want] {
			t.Errorf("the audit log lacks %q; it has %v", want, seen)
		}
	}
	for row := range seen {
		if strings.HasPrefix(row, "apikey:shop-b ") {
			t.Errorf("the audit log of shop A's ticket shows %q: shop B saw nothing", row)
		}
	}
}

// shopName is the name startApp gave its key.
func shopName(a *App) string {
	keys, _ := a.Store().APIKeys(context.Background())
	return keys[0].Name
}
