package main

import (
	"bytes"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/scenicgate/scenicgate/internal/bus"
	"github.com/scenicgate/scenicgate/internal/bus/bustest"
	"github.com/scenicgate/scenicgate/internal/qrtoken"
	"github.com/scenicgate/scenicgate/internal/signed"
	"github.com/scenicgate/scenicgate/internal/testenv"
)

// lockedBuffer collects a process's stderr while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestLogsHideCameraPasswordsAndWarnOfPlainHTTP runs a gate whose camera is
// an RTSP stream with a password, its status page on every address: no log
// line shows the password, and one warns that the page is plain HTTP.
func TestLogsHideCameraPasswordsAndWarnOfPlainHTTP(t *testing.T) {
	bin := buildGate(t)
	srv := bustest.Embedded(t)
	var keys []string
	for _, name := range []string{"enroll", "admin"} {
		s, err := signed.LoadOrCreateSigner(filepath.Join(t.TempDir(), name+".key"))
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, qrtoken.MarshalPublicKey(s.PublicKey()))
	}
	// Nothing listens on port 9 of loopback: the camera fails and is retried,
	// with log lines that name it.
	camera := "rtsp://admin:hunter2@127.0.0.1:9/stream1?channel=1&password=hunter3"
	logs := &lockedBuffer{}
	cmd := exec.Command(bin, "--trust-enroll", keys[0], "--trust-admin", keys[1], "--id", "logs-1",
		"--camera", camera, "--relay", "log", "--nats", srv.URL, "--nats-creds", srv.Creds(t, bus.Gate("logs-1")),
		"--data", t.TempDir(), "--models", testenv.ModelDir(t), "--listen", "0.0.0.0:0", "--workers", "1", "--log-level", "debug")
	cmd.Stderr = logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	deadline := time.Now().Add(60 * time.Second)
	for !(strings.Contains(logs.String(), "gate running") && strings.Contains(logs.String(), "camera fault")) {
		if time.Now().After(deadline) {
			t.Fatalf("the gate did not start and report its camera within a minute:\n%s", logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	cmd.Wait()
	out := logs.String()
	for _, secret := range []string{"hunter2", "hunter3"} {
		if strings.Contains(out, secret) {
			t.Errorf("the log shows the camera password %q:\n%s", secret, out)
		}
	}
	if !strings.Contains(out, "rtsp://admin:xxxxx@127.0.0.1:9/stream1") {
		t.Errorf("the log does not name the camera, redacted:\n%s", out)
	}
	if !strings.Contains(out, "plain HTTP") {
		t.Errorf("the status page on 0.0.0.0 without TLS logged no warning:\n%s", out)
	}
}
