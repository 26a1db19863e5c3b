package bustest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/scenicgate/scenicgate/internal/testenv"
)

// serverModule is the module whose version go.mod pins and the standalone
// server is built from. Debian's nats-server (2.9.10) is never used: it
// misbehaves in clusters.
const serverModule = "github.com/nats-io/nats-server/v2"

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// NATSServer returns the path of a nats-server binary of the version go.mod
// pins: $SCENICGATE_NATS_SERVER, else bin/nats-server in the repository
// (`make test` builds it), which it builds with `go build` when it is
// missing or of another version.
func NATSServer(t testing.TB) string {
	t.Helper()
	binOnce.Do(func() { binPath, binErr = natsServer() })
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

func natsServer() (string, error) {
	if p := os.Getenv("SCENICGATE_NATS_SERVER"); p != "" {
		return p, nil
	}
	root := testenv.Root()
	want := pinnedVersion(root)
	if want == "" {
		return "", fmt.Errorf("bustest: cannot tell which version of %s go.mod pins", serverModule)
	}
	path := filepath.Join(root, "bin", "nats-server")
	if out, err := exec.Command(path, "--version").Output(); err == nil && strings.Contains(string(out), want) {
		return path, nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return "", err
	}
	// Build beside the target and rename, so test binaries of several
	// packages building at once never run a half-written file.
	tmp, err := os.CreateTemp(filepath.Dir(path), ".nats-server-*")
	if err != nil {
		return "", err
	}
	tmp.Close()
	defer os.Remove(tmp.Name())
	cmd := exec.Command("go", "build", "-o", tmp.Name(), serverModule)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("bustest: go build %s: %v\n%s", serverModule, err, out)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return "", err
	}
	return path, nil
}

// pinnedVersion is the nats-server version go.mod pins, as the go command
// reads it (replacements included).
func pinnedVersion(root string) string {
	cmd := exec.Command("go", "list", "-m", "-f", "{{if .Replace}}{{.Replace.Version}}{{else}}{{.Version}}{{end}}", serverModule)
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}
