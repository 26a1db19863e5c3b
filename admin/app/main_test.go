package app

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/scenicgate/scenicgate/admin/service"
	"github.com/scenicgate/scenicgate/admin/store"
	enrollapp "github.com/scenicgate/scenicgate/enroll/app"
	enrollstore "github.com/scenicgate/scenicgate/enroll/store"
	"github.com/scenicgate/scenicgate/internal/bus"
	"github.com/scenicgate/scenicgate/internal/bus/bustest"
	"github.com/scenicgate/scenicgate/internal/signed"
	"github.com/scenicgate/scenicgate/internal/testenv"
	"github.com/scenicgate/scenicgate/models/faces"
)

// The face engine is loaded once, and only by the tests that start enroll.
var (
	engineOnce sync.Once
	engine     *faces.Engine
	engineErr  error
)

func faceEngine(t *testing.T) *faces.Engine {
	t.Helper()
	engineOnce.Do(func() {
		engine, engineErr = faces.Open(faces.Config{ModelDir: testenv.ModelDir(t), Workers: 2})
	})
	if engineErr != nil {
		t.Fatalf("open face engine (run `make models`): %v", engineErr)
	}
	return engine
}

func TestMain(m *testing.M) {
	code := m.Run()
	if engine != nil {
		engine.Close()
	}
	os.Exit(code)
}

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// env is a running admin against a real NATS server, and optionally a real
// enroll on the same server.
type env struct {
	t         *testing.T
	nats      *bustest.Server
	nc        *nats.Conn
	js        jetstream.JetStream
	admin     *App
	url       string
	enroll    *enrollapp.App
	enrollURL string
	// enrollKey signs entitlements: the real enroll's key, or one made up
	// when the test runs no enroll.
	enrollKey *signed.Signer
}

type envOptions struct {
	enroll bool
	tune   func(*Config)
}

func newEnv(t *testing.T, o envOptions) *env {
	t.Helper()
	e := &env{t: t, nats: bustest.Embedded(t)}
	e.nc, e.js = e.nats.Connect(t)
	cfg := DefaultConfig()
	cfg.Data = t.TempDir()
	cfg.NATS = e.nats.Options(t, bus.Admin())
	if o.enroll {
		ecfg := enrollapp.DefaultConfig()
		ecfg.Data, ecfg.NATS, ecfg.Engine = t.TempDir(), e.nats.Options(t, bus.Enroll()), faceEngine(t)
		ea, err := enrollapp.New(context.Background(), ecfg, quietLog())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ea.Close() })
		key, err := ea.Store().CreateAPIKey(context.Background(), "admin-ui", enrollstore.ScopeStaff)
		if err != nil {
			t.Fatal(err)
		}
		e.enroll, e.enrollURL = ea, serve(t, ea.Serve)
		cfg.EnrollURL, cfg.EnrollKey = e.enrollURL, key
		e.enrollKey = ea.Keys().Signer()
	} else {
		var err error
		if e.enrollKey, err = signed.LoadOrCreateSigner(filepath.Join(t.TempDir(), "enroll-signing.key")); err != nil {
			t.Fatal(err)
		}
	}
	if o.tune != nil {
		o.tune(&cfg)
	}
	a, err := New(context.Background(), cfg, quietLog())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	e.admin = a
	e.url = serve(t, a.Serve)
	return e
}

// serve runs a program's Serve on a free loopback port until the test ends
// and returns its base URL.
func serve(t *testing.T, fn func(context.Context, net.Listener) error) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); fn(ctx, l) }()
	t.Cleanup(func() { cancel(); <-done })
	return "http://" + l.Addr().String()
}

// addUser creates a staff account as the console would.
func (e *env) addUser(name string, role store.Role, password string) {
	e.t.Helper()
	console := service.Actor{Name: "console:test", Role: store.Admin}
	if _, err := e.admin.Service().CreateUser(context.Background(), console, name, role, password); err != nil {
		e.t.Fatal(err)
	}
}

// client is a browser without JavaScript: it keeps cookies and does not
// follow redirects, so tests see every answer.
type client struct {
	t    *testing.T
	base string
	http *http.Client
}

func (e *env) client() *client {
	jar, _ := cookiejar.New(nil)
	return &client{t: e.t, base: e.url, http: &http.Client{Jar: jar, Timeout: 20 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

type answer struct {
	status   int
	body     string
	location string
	header   http.Header
}

func (c *client) do(req *http.Request) answer {
	c.t.Helper()
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{status: resp.StatusCode, body: string(b), location: resp.Header.Get("Location"), header: resp.Header}
}

func (c *client) get(path string) answer {
	c.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, c.base+path, nil)
	return c.do(req)
}

func (c *client) post(path string, form url.Values, headers ...string) answer {
	c.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, c.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	return c.do(req)
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf returns the token of the forms on page path.
func (c *client) csrf(path string) string {
	c.t.Helper()
	m := csrfField.FindStringSubmatch(c.get(path).body)
	if m == nil {
		c.t.Fatalf("no CSRF token on %s", path)
	}
	return m[1]
}

// login logs in and returns the answer of the login POST.
func (c *client) login(name, password string) answer {
	c.t.Helper()
	return c.post("/login", url.Values{"csrf": {c.csrf("/login")}, "name": {name}, "password": {password}})
}

func (c *client) mustLogin(name, password string) {
	c.t.Helper()
	if a := c.login(name, password); a.status != http.StatusSeeOther || a.location != "/" {
		c.t.Fatalf("login as %s: %d → %q; want 303 → /", name, a.status, a.location)
	}
}

func fmtAnswer(a answer) string {
	body := a.body
	if len(body) > 300 {
		body = body[:300] + "…"
	}
	return fmt.Sprintf("%d %s", a.status, body)
}
