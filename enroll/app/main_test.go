package app

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"testing"

	"github.com/scenicgate/scenicgate/enroll/store"
	"github.com/scenicgate/scenicgate/internal/bus"
	"github.com/scenicgate/scenicgate/internal/bus/bustest"
	"github.com/scenicgate/scenicgate/internal/testenv"
	"github.com/scenicgate/scenicgate/models/faces"
)

// engine is shared by every test in the package: loading dlib's models for
// each test would cost more than the tests themselves.
var engine *faces.Engine

func TestMain(m *testing.M) {
	dir := os.Getenv("SCENICGATE_MODELS")
	if dir == "" {
		dir = testenv.Root() + "/models"
	}
	var err error
	engine, err = faces.Open(faces.Config{ModelDir: dir, Workers: 2})
	if err != nil {
		fmt.Fprintln(os.Stderr, "open face engine (run `make models`):", err)
		os.Exit(1)
	}
	code := m.Run()
	engine.Close()
	os.Exit(code)
}

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// startApp starts enroll on dir against server s, logged in as enroll (nil
// for the embedded server), and returns it with an API key.
func startApp(t testing.TB, dir string, s *bustest.Server) (*App, string) {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Data = dir
	if s != nil {
		cfg.NATS = s.Options(t, bus.Enroll())
	}
	cfg.NATSListen = "127.0.0.1:0"
	cfg.Engine = engine
	a, err := New(context.Background(), cfg, quietLog())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	key, err := a.Store().CreateAPIKey(context.Background(), fmt.Sprintf("shop-%p", a), store.ScopeShop)
	if err != nil {
		t.Fatal(err)
	}
	return a, key
}
