package main

import (
	"bufio"
	"context"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/scenicgate/scenicgate/internal/bus/bustest"
	"github.com/scenicgate/scenicgate/internal/testenv"
)

func freePort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// TestDemoShowsDecisions runs the demo as `make demo` does, on free ports,
// and waits for an admission and a denial to be printed, then stops it with
// Ctrl-C: with enroll's embedded NATS server, and with a three-node cluster
// of the nats-server go.mod pins (make demo DEMO_FLAGS=--cluster=3).
func TestDemoShowsDecisions(t *testing.T) {
	root := testenv.Root()
	bin := t.TempDir()
	for _, p := range []string{"enroll", "gate", "admin", "demo"} {
		build := exec.Command("go", "build", "-o", filepath.Join(bin, p), "./"+p)
		build.Dir = root
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("build %s: %v\n%s", p, err, out)
		}
	}
	testenv.ModelDir(t)
	t.Run("embedded", func(t *testing.T) { runDemo(t, bin) })
	t.Run("cluster", func(t *testing.T) { runDemo(t, bin, "--cluster", "3", "--nats-server", bustest.NATSServer(t)) })
}

func runDemo(t *testing.T, bin string, flags ...string) {
	cmd := exec.Command(filepath.Join(bin, "demo"), append([]string{"--bin", bin, "--data", t.TempDir(),
		"--photos", testenv.PhotoDir(), "--models", testenv.ModelDir(t),
		"--enroll-listen", freePort(t), "--admin-listen", freePort(t), "--nats-listen", freePort(t), "--gate-port", "0"}, flags...)...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	var allow, deny, admin bool
	var seen []string
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	for !(allow && deny && admin) {
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatalf("the demo ended early:\n%s", strings.Join(seen, "\n"))
			}
			seen = append(seen, line)
			allow = allow || strings.Contains(line, "ALLOW") && strings.Contains(line, "奥巴马")
			deny = deny || strings.Contains(line, "DENY") && strings.Contains(line, "unknown")
			admin = admin || strings.Contains(line, "login demo / scenicgate-demo")
		case <-ctx.Done():
			// Ctrl-C, so that the demo stops the programs it started
			// rather than leaving them running; a kill only if it hangs.
			cmd.Process.Signal(syscall.SIGINT)
			stopped := time.AfterFunc(30*time.Second, func() { cmd.Process.Kill() })
			for range lines {
			}
			cmd.Wait()
			stopped.Stop()
			t.Fatalf("no admission and denial within 3 minutes:\n%s", strings.Join(seen, "\n"))
		}
	}
	cmd.Process.Signal(syscall.SIGINT)
	for line := range lines {
		seen = append(seen, line)
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("the demo did not stop cleanly on Ctrl-C: %v", err)
	}
	if last := seen[len(seen)-1]; last != "demo stopped" {
		t.Errorf("last line %q; want \"demo stopped\"", last)
	}
}
