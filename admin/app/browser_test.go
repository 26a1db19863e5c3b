package app

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/scenicgate/scenicgate/admin/enrollclient"
	"github.com/scenicgate/scenicgate/admin/store"
	enrollstore "github.com/scenicgate/scenicgate/enroll/store"
	"github.com/scenicgate/scenicgate/internal/bus"
	"github.com/scenicgate/scenicgate/internal/rules"
	"github.com/scenicgate/scenicgate/internal/site"
	"github.com/scenicgate/scenicgate/internal/testenv"
	"github.com/scenicgate/scenicgate/proto/sgpb"
)

// chromiumPath is Debian's Chromium (`make deps` installs it).
const chromiumPath = "/usr/bin/chromium"

// screenshotDir is $SCENICGATE_SCREENSHOTS, or var/screenshots in the
// repository.
func screenshotDir(t *testing.T) string {
	dir := os.Getenv("SCENICGATE_SCREENSHOTS")
	if dir == "" {
		dir = filepath.Join(testenv.Root(), "var", "screenshots")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// newBrowser starts a headless Chromium with a fresh profile that makes no
// connections of its own; it is stopped when the test ends.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("Chromium missing (run `make deps`): %v", err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("lang", "zh-CN"),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1366, 900),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelTab(); cancelAlloc() })
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	return ctx
}

// browser runs steps against one tab, each with a deadline.
type browser struct {
	t    *testing.T
	ctx  context.Context
	base string
	dir  string
}

func (b *browser) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
}

func (b *browser) text(sel string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("text of %s: %v", sel, err)
	}
	return s
}

// waitJS waits until the JavaScript expression is true.
func (b *browser) waitJS(what, expr string) {
	b.t.Helper()
	b.do(what, chromedp.Action[chromedp.Void](func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		_, err := chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(20*time.Second), chromedp.WithPollingInterval(50*time.Millisecond))(ctx, t)
		return chromedp.Void{}, err
	}))
}

func (b *browser) open(path, waitFor string) {
	b.t.Helper()
	b.do("open "+path, chromedp.Navigate(b.base+path), chromedp.WaitVisible(chromedp.CSS(waitFor)))
}

// shot saves a PNG of the whole page as <name>.png.
func (b *browser) shot(name string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	path := filepath.Join(b.dir, name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	b.t.Logf("screenshot %s", path)
}

// enrollTicket creates a one-day ticket for today with a real photo through
// enroll's API and returns its id.
func enrollTicket(t *testing.T, e *env, key, order, name, phone, photo string) string {
	t.Helper()
	today := rules.Site{Location: site.DefaultSettings().Location()}.Day(time.Now()).String()
	body, _ := json.Marshal(map[string]any{
		"order_id": order, "consent": true,
		"visitors": []map[string]any{{"name": name, "phone": phone, "ticket_type": "single", "valid_from": today,
			"zones": []string{"main"}, "photos": []string{base64.StdEncoding.EncodeToString(testenv.Photo(t, photo))}}},
	})
	req, _ := http.NewRequest(http.MethodPost, e.enrollURL+"/api/v1/tickets", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Tickets []struct {
			TicketID string `json:"ticket_id"`
		} `json:"tickets"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != http.StatusCreated || len(out.Tickets) != 1 {
		t.Fatalf("enroll order %s: %d %v %+v", order, resp.StatusCode, err, out)
	}
	return out.Tickets[0].TicketID
}

// seedDay publishes a plausible morning of decisions before now, so the
// dashboard has a chart to show.
func seedDay(t *testing.T, js jetstream.JetStream, tickets []string) {
	t.Helper()
	loc := site.DefaultSettings().Location()
	now := time.Now()
	start := rules.Site{Location: loc}.StartOfDay(rules.Site{Location: loc}.Day(now))
	span := now.Sub(start)
	for i := 0; i < 36; i++ {
		at := start.Add(span * time.Duration(i+1) / 38)
		a := &sgpb.Admission{EventId: fmt.Sprintf("seed-%02d", i), GateId: fmt.Sprintf("lane-%d", 1+i%2), Zone: "main",
			Decision: sgpb.Decision_DECISION_ALLOW, Reason: "ok", Method: sgpb.Method_METHOD_FACE,
			Direction: sgpb.Direction_DIRECTION_ENTRY, Distance: 0.28 + float32(i%7)/100, AtMs: at.UnixMilli(), EntryNumber: 1,
			TicketId: fmt.Sprintf("S%04d", i)}
		switch {
		case i%9 == 4:
			a.Decision, a.Reason, a.TicketId, a.EntryNumber = sgpb.Decision_DECISION_DENY, "unknown", "", 0
		case i%11 == 7:
			a.Decision, a.Reason, a.TicketId, a.EntryNumber = sgpb.Decision_DECISION_DENY, "expired", tickets[0], 0
		case i%5 == 3:
			a.Direction, a.GateId, a.EntryNumber = sgpb.Direction_DIRECTION_EXIT, "exit-1", 0
		}
		publishAdmission(t, js, a)
	}
}

// TestBrowser drives the UI in a real headless Chromium, against a real
// NATS, a real enroll with a real face photo, and a real relay driver on a
// simulated board, and saves a screenshot of each page.
func TestBrowser(t *testing.T) {
	e := newEnv(t, envOptions{enroll: true, tune: func(c *Config) { c.SessionCheck = 200 * time.Millisecond }})
	e.addUser("wang", store.Admin, "gate-admin-1")
	key, err := e.enroll.Store().CreateAPIKey(context.Background(), "shop", enrollstore.ScopeShop)
	if err != nil {
		t.Fatal(err)
	}
	ticket := enrollTicket(t, e, key, "ORD-20261126-0001", "王小明", "13800001234", "obama.jpg")
	other := enrollTicket(t, e, key, "ORD-20261126-0002", "李华", "13900005678", "biden.jpg")
	waitFor(t, "the tickets in admin's mirror", func() bool {
		n, _ := e.admin.Store().EntitlementCount(context.Background())
		return n == 2
	})
	siteKV, _ := e.js.KeyValue(context.Background(), bus.BucketSite)
	set := site.DefaultSettings()
	set.DailyCapacity, set.InstantCapacity = 40, 30
	if err := site.SaveSettings(context.Background(), siteKV, set, e.admin.signer); err != nil {
		t.Fatal(err)
	}
	seedDay(t, e.js, []string{other})
	lane := startLaneGate(t, e, "lane-1")

	b := &browser{t: t, ctx: newBrowser(t), base: e.url, dir: screenshotDir(t)}

	t.Run("login", func(t *testing.T) {
		b.t = t
		b.open("/login", "#login-form")
		b.shot("login")
		b.do("log in",
			chromedp.SetValue(chromedp.ID("name"), "wang"),
			chromedp.SendKeys(chromedp.ID("password"), "gate-admin-1"),
			chromedp.Click(chromedp.ID("login-submit")),
			chromedp.WaitVisible(chromedp.ID("feed")))
		if who := b.text("#who-name"); who != "wang" {
			t.Errorf("logged in as %q; want wang", who)
		}
	})

	t.Run("live admission", func(t *testing.T) {
		b.t = t
		b.waitJS("the event stream", `document.getElementById("live-state").classList.contains("on")`)
		b.do("mark the page", chromedp.Evaluate[chromedp.Void](`window.sameDocument = true`))
		before := b.text("#stat-entries")
		publishAdmission(t, e.js, &sgpb.Admission{EventId: "ev-live-1", GateId: "lane-1", Zone: "main", TicketId: ticket,
			Decision: sgpb.Decision_DECISION_ALLOW, Reason: "ok", Method: sgpb.Method_METHOD_FACE,
			Direction: sgpb.Direction_DIRECTION_ENTRY, Distance: 0.312, Margin: 0.21, Frames: 3, AtMs: time.Now().UnixMilli(), EntryNumber: 1})
		b.waitJS("the new row", `document.querySelector('#feed tr[data-event="ev-live-1"]') !== null`)
		row := b.text(`#feed tr[data-event="ev-live-1"]`)
		for _, want := range []string{"lane-1", ticket, "王小明", "入园", "0.312", "刷脸"} {
			if !strings.Contains(row, want) {
				t.Errorf("live row %q lacks %q", row, want)
			}
		}
		b.waitJS("the figures", fmt.Sprintf(`document.getElementById("stat-entries").textContent !== %q`, before))
		b.waitJS("no reload", `window.sameDocument === true`)
		b.shot("dashboard")
	})

	t.Run("search and revoke", func(t *testing.T) {
		b.t = t
		b.open("/tickets", "#ticket-search")
		b.do("search", chromedp.SetValue(chromedp.ID("q"), "王小明"), chromedp.Click(chromedp.ID("search-submit")),
			chromedp.WaitVisible(chromedp.CSS("#results a.ticket-link")))
		if got := b.text("#results tbody"); !strings.Contains(got, ticket) || !strings.Contains(got, "ORD-20261126-0001") {
			t.Errorf("results %q lack the ticket", got)
		}
		b.shot("tickets")
		b.do("open the ticket", chromedp.Click(chromedp.CSS("#results a.ticket-link")), chromedp.WaitVisible(chromedp.ID("revoke-form")))
		if got := b.text("#ticket-admissions"); !strings.Contains(got, "lane-1") {
			t.Errorf("the ticket's admissions %q lack the one at lane-1", got)
		}
		b.shot("ticket-detail")
		b.do("revoke",
			chromedp.SetValue(chromedp.ID("revoke-reason-input"), "游客退票"),
			chromedp.Click(chromedp.ID("revoke-confirm")),
			chromedp.Click(chromedp.ID("revoke-submit")),
			chromedp.WaitVisible(chromedp.ID("flash")))
		if got := b.text("#ticket-state"); got != "已作废" {
			t.Errorf("ticket state after revoking = %q; want 已作废", got)
		}
		got, err := enrollclient.New(e.enrollURL, key).Ticket(context.Background(), ticket)
		if err != nil || !got.Revoked || got.RevokeReason != "游客退票 [staff: wang]" {
			t.Errorf("enroll has revoked=%v reason %q (%v); want revoked with 游客退票 [staff: wang]", got.Revoked, got.RevokeReason, err)
		}
		rows, _, _ := e.admin.Store().Audit(context.Background(), store.AuditFilter{Action: "revoke", Actor: "wang", Target: ticket})
		if len(rows) != 1 || !rows[0].OK {
			t.Errorf("admin audit of the revoke = %+v", rows)
		}
		waitFor(t, "the revoke in admin's mirror", func() bool {
			m, err := e.admin.Store().Entitlement(context.Background(), ticket)
			return err == nil && m.Revoked
		})
	})

	t.Run("manual open", func(t *testing.T) {
		b.t = t
		b.open("/gates", `#gates tr[data-gate="lane-1"]`)
		b.do("open lane-1",
			chromedp.SetValue(chromedp.ID("command-gate"), "lane-1"),
			chromedp.SetValue(chromedp.ID("command-kind"), "open"),
			chromedp.SetValue(chromedp.ID("command-reason"), "轮椅通道"),
			chromedp.Click(chromedp.ID("command-submit")))
		b.waitJS("the gate's answer", `document.getElementById("command-result").classList.contains("flash")`)
		if got := b.text("#command-result"); !strings.Contains(got, "lane-1 已开闸一次") {
			t.Fatalf("command result %q; want success", got)
		}
		ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
		defer cancel()
		events, err := lane.Sim.WaitEvents(ctx, 3)
		if err != nil {
			t.Fatalf("relay board: %v", err)
		}
		if !events[1].On || events[2].On {
			t.Errorf("relay board saw %v; want off (at open), on, off", events)
		}
		var opens []*sgpb.Admission
		waitFor(t, "the gate's record of the opening", func() bool {
			opens = manualOpens(t, e.js)
			return len(opens) == 1
		})
		if opens[0].GateId != "lane-1" || opens[0].Operator != "wang" || opens[0].Note != "轮椅通道" {
			t.Errorf("the gate recorded %v; want lane-1 opened by wang for 轮椅通道", opens[0])
		}
		b.shot("gates")
	})

	t.Run("conflicts", func(t *testing.T) {
		b.t = t
		// lane-2 was offline and admitted the same first entry again.
		publishAdmission(t, e.js, &sgpb.Admission{EventId: "ev-offline-1", GateId: "lane-2", Zone: "main", TicketId: ticket,
			Decision: sgpb.Decision_DECISION_ALLOW, Reason: "ok", Method: sgpb.Method_METHOD_FACE, Offline: true,
			Direction: sgpb.Direction_DIRECTION_ENTRY, Distance: 0.35, AtMs: time.Now().Add(-time.Minute).UnixMilli(), EntryNumber: 1})
		waitFor(t, "the conflict", func() bool { n, _ := e.admin.Store().OpenConflicts(context.Background()); return n == 1 })
		b.open("/conflicts", ".conflict")
		got := b.text(".conflict")
		for _, want := range []string{"王小明", "入园 2 次，门票允许 1 次", "ev-offline-1", "ev-live-1", "离线"} {
			if !strings.Contains(got, want) {
				t.Errorf("conflict %q lacks %q", got, want)
			}
		}
		b.shot("conflicts")
		b.do("resolve", chromedp.SetValue(chromedp.CSS(".conflict input[name=note]"), "已核实：同一游客"),
			chromedp.Click(chromedp.CSS(".conflict button")), chromedp.WaitVisible(chromedp.ID("no-conflicts")))
		if n, _ := e.admin.Store().OpenConflicts(context.Background()); n != 0 {
			t.Errorf("%d open conflicts after resolving; want 0", n)
		}
	})

	t.Run("audit", func(t *testing.T) {
		b.t = t
		b.open("/audit", "#audit")
		got := b.text("#audit")
		for _, want := range []string{"作废门票", "远程开闸", "处理冲突", "登录"} {
			if !strings.Contains(got, want) {
				t.Errorf("audit page lacks %q", want)
			}
		}
		b.shot("audit")
	})

	t.Run("settings", func(t *testing.T) {
		b.t = t
		b.open("/settings", "#settings-form")
		b.do("save", chromedp.SetValue(chromedp.ID("daily_capacity"), "20000"), chromedp.Click(chromedp.ID("settings-submit")),
			chromedp.WaitVisible(chromedp.ID("flash")))
		got, err := site.LoadSettings(context.Background(), siteKV, e.admin.ingest.Trusted())
		if err != nil || got.DailyCapacity != 20000 || got.InstantCapacity != 30 {
			t.Errorf("SITE settings = %+v, %v; want daily 20000, instant 30", got, err)
		}
		b.shot("settings")
	})

	t.Run("other pages", func(t *testing.T) {
		b.t = t
		b.open("/export", "#export-form")
		b.shot("export")
		b.open("/users", "#users")
		b.shot("users")
		b.open("/?lang=en", "#feed")
		if got := b.text("header nav"); !strings.Contains(got, "Dashboard") {
			t.Errorf("English navigation = %q", got)
		}
		b.shot("dashboard-en")
		b.open("/?lang=zh", "#feed")
	})

	// Last, since it ends the session: a dashboard left open goes to the
	// login page once its session ends. Housekeeping deletes the session
	// here, as it deletes expired ones.
	t.Run("session ends under an open dashboard", func(t *testing.T) {
		b.t = t
		b.waitJS("the event stream", `document.getElementById("live-state").classList.contains("on")`)
		later := time.Now().Add(e.admin.Service().Config().SessionTTL + time.Hour)
		if n, err := e.admin.Store().DeleteExpiredSessions(context.Background(), later); err != nil || n != 1 {
			t.Fatalf("DeleteExpiredSessions = %d, %v; want wang's one session", n, err)
		}
		b.do("the dashboard goes to the login page", chromedp.WaitVisible(chromedp.ID("login-form")))
	})
}
