package app

import (
	"bufio"
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scenicgate/scenicgate/admin/service"
	"github.com/scenicgate/scenicgate/admin/store"
	"github.com/scenicgate/scenicgate/proto/sgpb"
)

// waitLimit bounds a wait for something the test expects to happen; it is
// far above what that takes on a loaded machine.
const waitLimit = time.Minute

// eventStream is an open GET /events: the names of the events it sent, in
// order, and whether it has ended.
type eventStream struct {
	names chan string
	ended chan struct{}
}

// openEvents opens the live feed with the client's session; the stream is
// dropped when the test ends.
func (c *client) openEvents(t *testing.T) *eventStream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/events", nil)
	// The client's own timeout would cut a stream that is meant to last.
	resp, err := (&http.Client{Jar: c.http.Jar}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		resp.Body.Close()
		t.Fatalf("GET /events: %d %s; want 200 text/event-stream", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	s := &eventStream{names: make(chan string, 100), ended: make(chan struct{})}
	go func() {
		defer close(s.ended)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if name, ok := strings.CutPrefix(sc.Text(), "event: "); ok {
				s.names <- name
			}
		}
	}()
	return s
}

// next returns the name of the next event, failing when none comes within
// the limit.
func (s *eventStream) next(t *testing.T, limit time.Duration) string {
	t.Helper()
	select {
	case name := <-s.names:
		return name
	case <-time.After(limit):
		t.Fatalf("no event within %v", limit)
		return ""
	}
}

// TestLiveFeedEndsWithItsSession opens the dashboard's live feed and then
// ends its session in each way a session ends: logging out, expiring, the
// account being disabled. The feed says "session_ended" and closes; another
// staff member's feed stays open and still gets admissions.
func TestLiveFeedEndsWithItsSession(t *testing.T) {
	// end ends the watched session; advance moves admin's clock on, and
	// other is the other staff member's browser.
	type ending func(t *testing.T, e *env, watched, other *client, advance func(time.Duration))
	tests := []struct {
		name string
		end  ending
	}{
		{"logged out", func(t *testing.T, e *env, c, _ *client, _ func(time.Duration)) {
			if a := c.post("/logout", url.Values{"csrf": {c.csrf("/")}}); a.status != http.StatusSeeOther || a.location != "/login" {
				t.Fatalf("logout: %s", fmtAnswer(a))
			}
		}},
		{"expired", func(t *testing.T, e *env, _, other *client, advance func(time.Duration)) {
			// The watched session goes unused for longer than its TTL,
			// while the other staff member keeps theirs alive by loading a
			// page: watching the feed is not use.
			ttl := e.admin.Service().Config().SessionTTL
			advance(ttl * 3 / 4)
			if a := other.get("/"); a.status != http.StatusOK {
				t.Fatalf("the other staff member's page: %s", fmtAnswer(a))
			}
			advance(ttl / 2)
		}},
		{"account disabled", func(t *testing.T, e *env, _, _ *client, _ func(time.Duration)) {
			console := service.Actor{Name: "console:test", Role: store.Admin}
			if err := e.admin.Service().SetUserDisabled(context.Background(), console, "watcher", true); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			now := time.Now()
			advance := func(d time.Duration) { mu.Lock(); defer mu.Unlock(); now = now.Add(d) }
			e := newEnv(t, envOptions{tune: func(c *Config) { c.SessionCheck = 50 * time.Millisecond }})
			e.admin.SetClock(func() time.Time { mu.Lock(); defer mu.Unlock(); return now })
			e.addUser("watcher", store.Viewer, "viewer-pass")
			e.addUser("colleague", store.Viewer, "viewer-pass")
			watcher, colleague := e.client(), e.client()
			watcher.mustLogin("watcher", "viewer-pass")
			colleague.mustLogin("colleague", "viewer-pass")
			watched, other := watcher.openEvents(t), colleague.openEvents(t)
			for _, s := range []*eventStream{watched, other} {
				if name := s.next(t, waitLimit); name != "stats" {
					t.Fatalf("first event %q; want stats", name)
				}
			}

			start := time.Now()
			tc.end(t, e, watcher, colleague, advance)
			if name := watched.next(t, waitLimit); name != "session_ended" {
				t.Errorf("event after the session ended: %q; want session_ended", name)
			}
			select {
			case <-watched.ended:
				t.Logf("the feed closed %v after the session ended", time.Since(start).Round(time.Millisecond))
			case <-time.After(waitLimit):
				t.Fatalf("the feed is still open %v after its session ended", waitLimit)
			}
			if a := watcher.get("/events"); a.status != http.StatusUnauthorized {
				t.Errorf("reconnecting: %s; want 401", fmtAnswer(a))
			}

			// The other session's feed is untouched.
			publishAdmission(t, e.js, &sgpb.Admission{EventId: "ev-after", GateId: "north-1", Decision: sgpb.Decision_DECISION_DENY,
				Reason: "unknown", Method: sgpb.Method_METHOD_FACE, AtMs: time.Now().UnixMilli()})
			for {
				name := other.next(t, waitLimit)
				if name == "admission" {
					break
				}
				if name == "session_ended" {
					t.Fatal("the other staff member's feed ended too")
				}
			}
		})
	}
}
