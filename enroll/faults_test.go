package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/scenicgate/scenicgate/internal/bus"
	"github.com/scenicgate/scenicgate/internal/bus/bustest"
	"github.com/scenicgate/scenicgate/internal/rules"
	"github.com/scenicgate/scenicgate/internal/testenv"
)

// TestFullDiskAnswers503 runs enroll with its data folder on a 4 MB tmpfs
// and fills it. A ticket shop's order must then be refused with 503 and the
// code storage_full, not a 500 "internal", and /healthz must name the full
// disk; once there is room, orders are taken again.
func TestFullDiskAnswers503(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "enroll")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	srv := bustest.Embedded(t)
	data, keyFile, addr := t.TempDir(), filepath.Join(t.TempDir(), "key"), freeAddr(t)
	// The API key is made on the tmpfs, before enroll starts there.
	setup := `"$1" apikey create --name shop --scope shop --data "$0" > "$2" && shift 2`
	argv := testenv.OnTmpfs(t, data, "4m", setup, "there is no other test of enroll on a full disk",
		bin, keyFile, bin, "--data", data, "--listen", addr, "--nats", srv.URL, "--nats-creds", srv.Creds(t, bus.Enroll()),
		"--models", testenv.ModelDir(t), "--face-models", "mobilefacenet", "--workers", "1")
	cmd := exec.Command(argv[0], argv[1:]...)
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Signal(syscall.SIGTERM); cmd.Wait() }()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		if resp, err := http.Get("http://" + addr + "/healthz"); err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("enroll did not start:\n%s", logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	key, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	order := func(id string) (int, string, http.Header) {
		t.Helper()
		body, _ := json.Marshal(map[string]any{"order_id": id, "visitors": []any{map[string]any{
			"name": "游客", "ticket_type": "single", "valid_from": rules.Site{}.Day(time.Now()).String()}}})
		req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/api/v1/tickets", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(key)))
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out struct {
			Error struct{ Code string }
		}
		json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out.Error.Code, resp.Header
	}
	if status, code, _ := order("before"); status != http.StatusCreated {
		t.Fatalf("an order before the disk filled: %d %s", status, code)
	}

	fill := testenv.Fill(t, cmd.Process.Pid, data)
	status, code, header := order("full")
	if status != http.StatusServiceUnavailable || code != "storage_full" || header.Get("Retry-After") == "" {
		t.Errorf("an order with the disk full: %d %q, Retry-After %q; want 503 storage_full with Retry-After", status, code, header.Get("Retry-After"))
	}
	if code, faults := health(t, addr); code != http.StatusServiceUnavailable || !strings.Contains(faults, "disk: full") {
		t.Errorf("healthz with the disk full: %d %s; want 503 naming the disk", code, faults)
	}

	os.Remove(fill)
	if status, code, _ := order("after"); status != http.StatusCreated {
		t.Errorf("an order once there is room again: %d %s; want 201", status, code)
	}
	if code, faults := health(t, addr); code != http.StatusOK {
		t.Errorf("healthz once there is room again: %d %s; want 200", code, faults)
	}
}

func health(t *testing.T, addr string) (int, string) {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var h struct{ Faults []string }
	json.NewDecoder(resp.Body).Decode(&h)
	return resp.StatusCode, fmt.Sprint(h.Faults)
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
