package app

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	"github.com/scenicgate/scenicgate/enroll/store"
	"github.com/scenicgate/scenicgate/internal/bus"
	"github.com/scenicgate/scenicgate/internal/bus/bustest"
	"github.com/scenicgate/scenicgate/internal/rules"
	"github.com/scenicgate/scenicgate/internal/signed"
	"github.com/scenicgate/scenicgate/internal/testenv"
	"github.com/scenicgate/scenicgate/proto/sgpb"
)

type client struct {
	t   testing.TB
	srv *httptest.Server
	key string
}

func newClient(t testing.TB, a *App, key string) *client {
	srv := httptest.NewServer(a.Handler())
	t.Cleanup(srv.Close)
	return &client{t: t, srv: srv, key: key}
}

// do sends a request and decodes the JSON answer into a map.
func (c *client) do(method, path, contentType string, body []byte) (int, map[string]any) {
	c.t.Helper()
	req, _ := http.NewRequest(method, c.srv.URL+path, bytes.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if c.key != "" {
		req.Header.Set("Authorization", "Bearer "+c.key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		c.t.Fatalf("%s %s: answer is not JSON: %v", method, path, err)
	}
	return resp.StatusCode, out
}

func (c *client) postJSON(path string, v any) (int, map[string]any) {
	b, _ := json.Marshal(v)
	return c.do(http.MethodPost, path, "application/json", b)
}

func errCode(body map[string]any) string {
	e, _ := body["error"].(map[string]any)
	code, _ := e["code"].(string)
	return code
}

// today is the site-local day now: tickets in the tests are valid today.
func today() string { return rules.Site{}.Day(time.Now()).String() }

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func orderJSON(id string, photos ...[]byte) map[string]any {
	var enc []string
	for _, p := range photos {
		enc = append(enc, b64(p))
	}
	return map[string]any{
		"order_id": id, "consent": true,
		"visitors": []map[string]any{{
			"name": "张三", "ticket_type": "single", "valid_from": today(), "valid_to": today(),
			"zones": []string{"main"}, "photos": enc,
		}},
	}
}

func tickets(body map[string]any) []map[string]any {
	var out []map[string]any
	list, _ := body["tickets"].([]any)
	for _, t := range list {
		out = append(out, t.(map[string]any))
	}
	return out
}

// twoPeople puts two photos side by side in one JPEG.
func twoPeople(t *testing.T, a, b []byte) []byte {
	ia, _, err := image.Decode(bytes.NewReader(a))
	if err != nil {
		t.Fatal(err)
	}
	ib, _, err := image.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	w := ia.Bounds().Dx() + ib.Bounds().Dx()
	h := max(ia.Bounds().Dy(), ib.Bounds().Dy())
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.Draw(dst, dst.Bounds(), image.NewUniform(color.White), image.Point{}, draw.Src)
	draw.Draw(dst, ia.Bounds().Sub(ia.Bounds().Min), ia, ia.Bounds().Min, draw.Src)
	draw.Draw(dst, ib.Bounds().Sub(ib.Bounds().Min).Add(image.Pt(ia.Bounds().Dx(), 0)), ib, ib.Bounds().Min, draw.Src)
	var buf bytes.Buffer
	jpeg.Encode(&buf, dst, &jpeg.Options{Quality: 90})
	return buf.Bytes()
}

func plainJPEG() []byte {
	img := image.NewRGBA(image.Rect(0, 0, 400, 300))
	for y := 0; y < 300; y++ {
		for x := 0; x < 400; x++ {
			img.Set(x, y, color.RGBA{uint8(x / 2), uint8(y / 2), 128, 255})
		}
	}
	var buf bytes.Buffer
	jpeg.Encode(&buf, img, nil)
	return buf.Bytes()
}

func TestCreateOrderAndRefusals(t *testing.T) {
	a, key := startApp(t, t.TempDir(), nil)
	c := newClient(t, a, key)
	obama := testenv.Photo(t, "obama.jpg")

	status, body := c.postJSON("/api/v1/tickets", orderJSON("shop1-0001", obama))
	if status != http.StatusCreated {
		t.Fatalf("create: status %d %v; want 201", status, body)
	}
	tk := tickets(body)
	if len(tk) != 1 || tk[0]["qr_token"] == "" || len(tk[0]["faces"].([]any)) != 1 {
		t.Fatalf("create: tickets %v; want one with a QR token and one face", tk)
	}
	id := tk[0]["ticket_id"].(string)

	status, again := c.postJSON("/api/v1/tickets", orderJSON("shop1-0001", obama))
	if status != http.StatusOK || tickets(again)[0]["ticket_id"] != id {
		t.Errorf("replay: status %d, ticket %v; want 200 and %s", status, tickets(again)[0]["ticket_id"], id)
	}

	manyFaces := twoPeople(t, testenv.Photo(t, "obama2.jpg"), testenv.Photo(t, "biden.jpg"))
	noConsent := orderJSON("shop1-0009", obama)
	noConsent["consent"] = false
	oversized := strings.Repeat("A", 11<<20)
	refusals := []struct {
		name   string
		ctype  string
		body   []byte
		status int
		code   string
	}{
		{"conflicting replay", "application/json", mustJSON(orderJSON("shop1-0001", testenv.Photo(t, "obama2.jpg"))), 409, "order_conflict"},
		{"malformed JSON", "application/json", []byte(`{"order_id": `), 400, "invalid_request"},
		{"unknown field", "application/json", []byte(`{"order_id": "x1", "colour": "red"}`), 400, "invalid_request"},
		{"bad base64", "application/json", []byte(`{"order_id":"x2","consent":true,"visitors":[{"name":"a","ticket_type":"single","valid_from":"` + today() + `","photos":["%%%"]}]}`), 400, "invalid_request"},
		{"no visitors", "application/json", mustJSON(map[string]any{"order_id": "x3", "visitors": []any{}}), 400, "invalid_request"},
		{"bad ticket type", "application/json", []byte(`{"order_id":"x4","visitors":[{"name":"a","ticket_type":"vip","valid_from":"` + today() + `"}]}`), 400, "invalid_request"},
		{"bad date", "application/json", []byte(`{"order_id":"x5","visitors":[{"name":"a","ticket_type":"single","valid_from":"2026-02-30"}]}`), 400, "invalid_request"},
		{"ended ticket", "application/json", []byte(`{"order_id":"x10","visitors":[{"name":"a","ticket_type":"single","valid_from":"2020-01-01"}]}`), 400, "invalid_request"},
		{"no consent", "application/json", mustJSON(noConsent), 422, "consent_required"},
		{"no face", "application/json", mustJSON(orderJSON("x6", plainJPEG())), 422, "no_face"},
		{"two people", "application/json", mustJSON(orderJSON("x7", manyFaces)), 422, "many_faces"},
		{"random bytes", "application/json", mustJSON(orderJSON("x8", []byte("definitely not an image, just words"))), 415, "unsupported_image"},
		{"truncated JPEG", "application/json", mustJSON(orderJSON("x9", obama[:len(obama)/3])), 422, "corrupt_image"},
		{"over the upload limit", "application/json", []byte(`{"order_id":"` + oversized + `"}`), 413, "payload_too_large"},
	}
	for _, r := range refusals {
		status, body := c.do(http.MethodPost, "/api/v1/tickets", r.ctype, r.body)
		if status != r.status || errCode(body) != r.code {
			t.Errorf("%s: status %d code %q (%v); want %d %q", r.name, status, errCode(body), body["error"], r.status, r.code)
		}
	}
	// Nothing of the refused orders was stored.
	status, list := c.do(http.MethodGet, "/api/v1/tickets", "", nil)
	if status != 200 || list["total"].(float64) != 1 {
		t.Errorf("after refusals: %d tickets stored; want 1", int(list["total"].(float64)))
	}

	anon := &client{t: t, srv: c.srv}
	if status, body := anon.do(http.MethodGet, "/api/v1/tickets/"+id, "", nil); status != 401 || errCode(body) != "unauthorized" {
		t.Errorf("no key: %d %q; want 401 unauthorized", status, errCode(body))
	}
	wrong := &client{t: t, srv: c.srv, key: key + "x"}
	if status, _ := wrong.do(http.MethodGet, "/api/v1/tickets/"+id, "", nil); status != 401 {
		t.Errorf("wrong key: %d; want 401", status)
	}
	if status, body := c.do(http.MethodGet, "/api/v1/tickets/TNOSUCH", "", nil); status != 404 || errCode(body) != "not_found" {
		t.Errorf("unknown ticket: %d %q; want 404 not_found", status, errCode(body))
	}
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

func TestMultipartFacesRevokeErase(t *testing.T) {
	a, key := startApp(t, t.TempDir(), nil)
	c := newClient(t, a, key)

	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	order := orderJSON("shop2-0001")
	order["visitors"].([]map[string]any)[0]["ticket_type"] = "multi"
	order["visitors"].([]map[string]any)[0]["entries"] = 3
	mw.WriteField("order", string(mustJSON(order)))
	fw, _ := mw.CreateFormFile("photos.0", "obama.jpg")
	fw.Write(testenv.Photo(t, "obama.jpg"))
	fw, _ = mw.CreateFormFile("photos.0", "32bit.png")
	fw.Write(testenv.Photo(t, "32bit.png"))
	mw.Close()
	status, body := c.do(http.MethodPost, "/api/v1/tickets", mw.FormDataContentType(), buf.Bytes())
	if status != http.StatusCreated {
		t.Fatalf("multipart create: %d %v", status, body)
	}
	tk := tickets(body)[0]
	id := tk["ticket_id"].(string)
	if n := len(tk["faces"].([]any)); n != 2 {
		t.Errorf("multipart create stored %d faces; want 2 (a JPEG and an RGBA PNG)", n)
	}

	status, body = c.postJSON("/api/v1/tickets/"+id+"/faces", map[string]any{
		"photos": []string{b64(testenv.Photo(t, "obama2.jpg"))}, "replace": true, "consent": true})
	if status != 200 || len(body["faces"].([]any)) != 1 {
		t.Errorf("replace faces: %d, %v faces; want 200 and 1", status, body["faces"])
	}
	if status, body = c.postJSON("/api/v1/tickets/"+id+"/faces", map[string]any{
		"photos": []string{b64(testenv.Photo(t, "obama2.jpg"))}}); status != 422 || errCode(body) != "consent_required" {
		t.Errorf("faces without consent: %d %q; want 422 consent_required", status, errCode(body))
	}
	status, body = c.do(http.MethodDelete, "/api/v1/tickets/"+id+"/biometrics?reason=visitor+asked", "", nil)
	if status != 200 || len(body["faces"].([]any)) != 0 || body["biometrics_erased_at"] == nil || body["qr_token"] == "" {
		t.Errorf("erase: %d %v; want no faces, an erase time and still a QR token", status, body)
	}
	if status, body = c.postJSON("/api/v1/tickets/"+id+"/revoke", map[string]any{}); status != 400 {
		t.Errorf("revoke without reason: %d %v; want 400", status, body)
	}
	status, body = c.postJSON("/api/v1/tickets/"+id+"/revoke", map[string]any{"reason": "refund"})
	if status != 200 || body["revoked"] != true || body["revoke_reason"] != "refund" {
		t.Errorf("revoke: %d %v", status, body)
	}
	if status, body = c.postJSON("/api/v1/tickets/"+id+"/faces", map[string]any{
		"photos": []string{b64(testenv.Photo(t, "obama2.jpg"))}, "consent": true}); status != 409 || errCode(body) != "ticket_revoked" {
		t.Errorf("faces on a revoked ticket: %d %q; want 409 ticket_revoked", status, errCode(body))
	}
	status, body = c.do(http.MethodGet, "/api/v1/tickets/"+id+"/audit", "", nil)
	if n := len(body["audit"].([]any)); status != 200 || n != 4 {
		t.Errorf("audit: %d with %d rows; want 200 and 4 (create, faces, erase, revoke)", status, n)
	}
	status, body = c.do(http.MethodGet, "/api/v1/tickets?q=%E5%BC%A0&valid_on="+today(), "", nil)
	if status != 200 || body["total"].(float64) != 1 {
		t.Errorf("search by name and day: %d %v", status, body["total"])
	}
	if status, body = c.do(http.MethodGet, "/api/v1/tickets?valid_on=tomorrow", "", nil); status != 400 {
		t.Errorf("search with a bad date: %d; want 400", status)
	}
}

func TestConcurrentReplaysMakeOneOrder(t *testing.T) {
	a, key := startApp(t, t.TempDir(), nil)
	c := newClient(t, a, key)
	body := mustJSON(orderJSON("shop3-0001", testenv.Photo(t, "obama2.jpg")))
	const n = 50
	ids := make([]string, n)
	statuses := make([]int, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			req, _ := http.NewRequest(http.MethodPost, c.srv.URL+"/api/v1/tickets", bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+key)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			defer resp.Body.Close()
			var out map[string]any
			json.NewDecoder(resp.Body).Decode(&out)
			statuses[i] = resp.StatusCode
			if tk := tickets(out); len(tk) == 1 {
				ids[i], _ = tk[0]["ticket_id"].(string)
			}
		}(i)
	}
	wg.Wait()
	created := 0
	for i := range ids {
		if statuses[i] == http.StatusCreated {
			created++
		} else if statuses[i] != http.StatusOK {
			t.Errorf("request %d: status %d", i, statuses[i])
		}
		if ids[i] != ids[0] || ids[0] == "" {
			t.Errorf("request %d got ticket %q; want %q for all", i, ids[i], ids[0])
		}
	}
	if created != 1 {
		t.Errorf("%d requests created the order; want exactly 1", created)
	}
	_, list := c.do(http.MethodGet, "/api/v1/tickets", "", nil)
	if list["total"].(float64) != 1 {
		t.Errorf("%v tickets stored; want 1", list["total"])
	}
}

// watchEntitlements returns a channel of the bucket's changes.
func watchEntitlements(t *testing.T, s *bustest.Server) <-chan jetstream.KeyValueEntry {
	t.Helper()
	_, js := s.Connect(t)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	kv, err := js.KeyValue(ctx, bus.BucketEntitlements)
	if err != nil {
		t.Fatal(err)
	}
	w, err := kv.WatchAll(ctx, jetstream.UpdatesOnly())
	if err != nil {
		t.Fatal(err)
	}
	return w.Updates()
}

func nextEntitlement(t *testing.T, updates <-chan jetstream.KeyValueEntry) (jetstream.KeyValueOp, *sgpb.Entitlement) {
	t.Helper()
	select {
	case e := <-updates:
		ent := &sgpb.Entitlement{}
		if e.Operation() == jetstream.KeyValuePut {
			payload, err := signed.Unwrap(e.Value())
			if err != nil {
				t.Fatal(err)
			}
			if err := proto.Unmarshal(payload, ent); err != nil {
				t.Fatal(err)
			}
		}
		return e.Operation(), ent
	case <-time.After(time.Minute):
		t.Fatal("no change reached the ENTITLEMENTS bucket within a minute")
		return 0, nil
	}
}

func TestWatcherSeesEveryChange(t *testing.T) {
	bustest.Each(t, func(t *testing.T, s *bustest.Server) {
		updates := watchEntitlements(t, s)
		a, key := startApp(t, t.TempDir(), s)
		c := newClient(t, a, key)

		_, body := c.postJSON("/api/v1/tickets", orderJSON("shop4-0001", testenv.Photo(t, "obama.jpg")))
		id := tickets(body)[0]["ticket_id"].(string)
		op, ent := nextEntitlement(t, updates)
		if op != jetstream.KeyValuePut || ent.TicketId != id {
			t.Fatalf("create: %v %v; want a put of %s", op, ent.TicketId, id)
		}
		// One face, described by every model enroll runs.
		models := engine.Models()
		if len(ent.Faces) != len(models) {
			t.Fatalf("create: %d face descriptors; want one face described by each of %d models", len(ent.Faces), len(models))
		}
		for _, m := range models {
			i := slices.IndexFunc(ent.Faces, func(f *sgpb.FaceDescriptor) bool { return f.Model == m.Name })
			if i < 0 {
				t.Errorf("create: no %s descriptor among %v", m.Name, ent.Faces)
				continue
			}
			if f := ent.Faces[i]; f.FaceId != ent.Faces[0].FaceId || len(f.Values) != m.Dim {
				t.Errorf("create: %s descriptor of face %s with %d values; want face %s with %d",
					m.Name, f.FaceId, len(f.Values), ent.Faces[0].FaceId, m.Dim)
			}
		}
		if ent.TicketType != sgpb.TicketType_TICKET_TYPE_SINGLE || ent.QrTokenId == "" || ent.ValidUntilMs-ent.ValidFromMs != 24*3600*1000 {
			t.Errorf("create: entitlement %v; want a one-day single ticket with a QR token id", ent)
		}

		c.postJSON("/api/v1/tickets/"+id+"/faces", map[string]any{
			"photos": []string{b64(testenv.Photo(t, "obama2.jpg"))}, "consent": true})
		if _, ent = nextEntitlement(t, updates); len(ent.Faces) != 2*len(models) || ent.Version != 2 {
			t.Errorf("update: %d descriptors, version %d; want two faces of %d models, version 2", len(ent.Faces), ent.Version, len(models))
		}
		c.do(http.MethodDelete, "/api/v1/tickets/"+id+"/biometrics", "", nil)
		if _, ent = nextEntitlement(t, updates); len(ent.Faces) != 0 || ent.Revoked {
			t.Errorf("erase: %d faces, revoked %v; want 0 faces, not revoked", len(ent.Faces), ent.Revoked)
		}
		c.postJSON("/api/v1/tickets/"+id+"/revoke", map[string]any{"reason": "refund"})
		if _, ent = nextEntitlement(t, updates); !ent.Revoked || ent.RevokeReason != "refund" {
			t.Errorf("revoke: revoked %v reason %q; want true refund", ent.Revoked, ent.RevokeReason)
		}
	})
}

func TestOutboxRepublishesAfterCrash(t *testing.T) {
	bustest.Each(t, func(t *testing.T, s *bustest.Server) {
		dir := t.TempDir()
		a, key := startApp(t, dir, s)
		c := newClient(t, a, key)
		// NATS goes away; the order is still accepted and kept in the outbox.
		s.Stop()
		status, body := c.postJSON("/api/v1/tickets", orderJSON("shop5-0001", testenv.Photo(t, "obama.jpg")))
		if status != http.StatusCreated {
			t.Fatalf("create while NATS is down: %d %v", status, body)
		}
		id := tickets(body)[0]["ticket_id"].(string)
		if n, _ := a.Store().OutboxDepth(context.Background()); n != 1 {
			t.Fatalf("outbox depth = %d; want 1", n)
		}
		// enroll dies with the change committed to SQLite but not published.
		a.Close()

		s.Start()
		a2, _ := startApp(t, dir, s)
		_, js := s.Connect(t)
		deadline := time.Now().Add(time.Minute)
		for {
			kv, err := js.KeyValue(context.Background(), bus.BucketEntitlements)
			if err == nil {
				if e, err := kv.Get(context.Background(), id); err == nil && e.Operation() == jetstream.KeyValuePut {
					break
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("ticket %s never reached the bucket after restart", id)
			}
			time.Sleep(100 * time.Millisecond)
		}
		// The publisher deletes the outbox row once the bucket has
		// acknowledged the put, a moment after the value is visible.
		for {
			n, _ := a2.Store().OutboxDepth(context.Background())
			if n == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("outbox depth a minute after republishing = %d; want 0", n)
			}
			time.Sleep(50 * time.Millisecond)
		}
	})
}

func TestPurgeRemovesEndedTicketsFromNATS(t *testing.T) {
	s := bustest.Embedded(t)
	updates := watchEntitlements(t, s)
	a, key := startApp(t, t.TempDir(), s)
	c := newClient(t, a, key)
	_, body := c.postJSON("/api/v1/tickets", orderJSON("shop6-0001", testenv.Photo(t, "obama.jpg")))
	id := tickets(body)[0]["ticket_id"].(string)
	nextEntitlement(t, updates)

	tomorrow := rules.Site{}.StartOfDay(rules.Site{}.Day(time.Now()).AddDays(1))
	a.Service().SetClock(func() time.Time { return tomorrow.Add(time.Second) })
	n, err := a.Service().PurgeEnded(context.Background())
	if err != nil || n != 1 {
		t.Fatalf("PurgeEnded = %d, %v; want 1", n, err)
	}
	if op, _ := nextEntitlement(t, updates); op != jetstream.KeyValuePurge {
		t.Errorf("after purge the bucket saw %v; want a purge", op)
	}
	_, got := c.do(http.MethodGet, "/api/v1/tickets/"+id, "", nil)
	if len(got["faces"].([]any)) != 0 || got["purged_at"] == nil {
		t.Errorf("purged ticket: %v", got)
	}
}

func TestMetricsAndHealth(t *testing.T) {
	a, key := startApp(t, t.TempDir(), nil)
	c := newClient(t, a, key)
	c.do(http.MethodGet, "/api/v1/tickets", "", nil)
	status, body := c.do(http.MethodGet, "/healthz", "", nil)
	if status != 200 || body["status"] != "ok" {
		t.Errorf("healthz: %d %v", status, body)
	}
	resp, err := http.Get(c.srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	buf.ReadFrom(resp.Body)
	for _, want := range []string{`scenicgate_enroll_requests_total{method="GET",route="/api/v1/tickets",status="200"} 1`, "scenicgate_enroll_outbox_depth 0"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

func TestDuplicateFaceIsReportedOrRefused(t *testing.T) {
	a, key := startApp(t, t.TempDir(), nil)
	c := newClient(t, a, key)
	c.postJSON("/api/v1/tickets", orderJSON("dup-1", testenv.Photo(t, "obama.jpg")))

	// The same person on another order: created, with a warning naming the
	// other ticket. 32bit.png is the same photo as obama2.jpg in another
	// format, so the faces are as close as faces get.
	_, body := c.postJSON("/api/v1/tickets", orderJSON("dup-2", testenv.Photo(t, "obama2.jpg")))
	_, body2 := c.postJSON("/api/v1/tickets", orderJSON("dup-3", testenv.Photo(t, "32bit.png")))
	warnings, _ := tickets(body2)[0]["warnings"].([]any)
	if len(warnings) != 1 || warnings[0].(map[string]any)["code"] != "duplicate_face" ||
		warnings[0].(map[string]any)["ticket_id"] != tickets(body)[0]["ticket_id"] {
		t.Errorf("same photo on another order: warnings %v; want one duplicate_face naming %v", warnings, tickets(body)[0]["ticket_id"])
	}
	// Someone else: no warning.
	_, other := c.postJSON("/api/v1/tickets", orderJSON("dup-4", testenv.Photo(t, "biden.jpg")))
	if w, _ := tickets(other)[0]["warnings"].([]any); len(w) != 0 {
		t.Errorf("a different person: warnings %v; want none", w)
	}

	// With rejection on, the duplicate is refused and nothing is stored.
	cfg := DefaultConfig()
	cfg.Data, cfg.NATSListen, cfg.Engine = t.TempDir(), "127.0.0.1:0", engine
	cfg.Service.RejectDuplicates = true
	strict, err := New(context.Background(), cfg, quietLog())
	if err != nil {
		t.Fatal(err)
	}
	defer strict.Close()
	skey, _ := strict.Store().CreateAPIKey(context.Background(), "shop", store.ScopeShop)
	sc := newClient(t, strict, skey)
	sc.postJSON("/api/v1/tickets", orderJSON("s-1", testenv.Photo(t, "obama2.jpg")))
	status, refused := sc.postJSON("/api/v1/tickets", orderJSON("s-2", testenv.Photo(t, "32bit.png")))
	if status != http.StatusConflict || errCode(refused) != "duplicate_face" {
		t.Errorf("duplicate with rejection on: %d %q; want 409 duplicate_face", status, errCode(refused))
	}
	if _, err := strict.Store().OrderHash(context.Background(), "s-2"); err == nil {
		t.Error("the refused order was stored")
	}
}

func TestPhotosAreKeptOnlyWhenConfigured(t *testing.T) {
	for _, keep := range []bool{false, true} {
		cfg := DefaultConfig()
		cfg.Data, cfg.NATSListen, cfg.Engine = t.TempDir(), "127.0.0.1:0", engine
		cfg.Service.KeepPhotos = keep
		a, err := New(context.Background(), cfg, quietLog())
		if err != nil {
			t.Fatal(err)
		}
		key, _ := a.Store().CreateAPIKey(context.Background(), "shop", store.ScopeShop)
		c := newClient(t, a, key)
		_, body := c.postJSON("/api/v1/tickets", orderJSON("p-1", testenv.Photo(t, "obama.jpg")))
		faceID := tickets(body)[0]["faces"].([]any)[0].(map[string]any)["face_id"].(string)
		_, err = a.Store().Photo(context.Background(), faceID)
		if keep && err != nil {
			t.Errorf("keep-photos on: photo not stored: %v", err)
		}
		if !keep && err == nil {
			t.Error("keep-photos off: the photo was stored")
		}
		a.Close()
	}
}

func TestFaceAtTheEdgeIsAcceptedWithAWarning(t *testing.T) {
	a, key := startApp(t, t.TempDir(), nil)
	c := newClient(t, a, key)
	status, body := c.postJSON("/api/v1/tickets", orderJSON("edge-1", testenv.Photo(t, "obama_partial_face.jpg")))
	if status != http.StatusCreated {
		t.Fatalf("partial face: %d %v; want 201", status, body)
	}
	w, _ := tickets(body)[0]["warnings"].([]any)
	if len(w) != 1 || w[0].(map[string]any)["code"] != "face_at_edge" {
		t.Errorf("partial face: warnings %v; want one face_at_edge", w)
	}
}
