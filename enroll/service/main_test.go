package service_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/scenicgate/scenicgate/enroll/service"
	"github.com/scenicgate/scenicgate/enroll/store"
	"github.com/scenicgate/scenicgate/internal/qrtoken"
	"github.com/scenicgate/scenicgate/internal/testenv"
	"github.com/scenicgate/scenicgate/models/faces"
)

// engine is shared by the package's tests: loading dlib's models for each
// test would cost more than the tests.
var engine *faces.Engine

func TestMain(m *testing.M) {
	dir := os.Getenv("SCENICGATE_MODELS")
	if dir == "" {
		dir = filepath.Join(testenv.Root(), "models")
	}
	var err error
	if engine, err = faces.Open(faces.Config{ModelDir: dir, Workers: 2}); err != nil {
		fmt.Fprintln(os.Stderr, "open face engine (run `make models`):", err)
		os.Exit(1)
	}
	code := m.Run()
	engine.Close()
	os.Exit(code)
}

// newService returns the operations over a fresh database in a temporary
// folder, with the config changed by tune.
func newService(t *testing.T, tune func(*service.Config)) (*service.Service, *store.Store) {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	key, err := qrtoken.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	signer, err := qrtoken.NewSigner(key)
	if err != nil {
		t.Fatal(err)
	}
	cfg := service.DefaultConfig()
	if tune != nil {
		tune(&cfg)
	}
	svc, err := service.New(ctx, cfg, st, engine, signer, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	if err != nil {
		t.Fatal(err)
	}
	return svc, st
}
