package main

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/scenicgate/scenicgate/gate/store"
	"github.com/scenicgate/scenicgate/internal/testenv"
	"github.com/scenicgate/scenicgate/proto/sgpb"
)

// BenchmarkGateRSS starts the gate program on a mirror of n tickets, each
// with one face described by dlib (128 values) and MobileFaceNet (192), as
// enroll publishes them, and reports the resident memory once it is deciding
// frames: the figure a gate computer must have room for. The gate matches
// with its default model and has one worker per core; NATS is unreachable,
// so the mirror comes from SQLite alone.
func BenchmarkGateRSS(b *testing.B) {
	for _, n := range []int{0, 100_000} {
		b.Run(fmt.Sprintf("tickets=%d", n), func(b *testing.B) {
			data := b.TempDir()
			fillMirror(b, data, n)
			var rss, peak float64
			for b.Loop() {
				rss, peak = gateRSS(b, data)
			}
			b.ReportMetric(rss, "rss-MB")
			b.ReportMetric(peak, "peak-rss-MB")
		})
	}
}

// fillMirror writes n day passes valid today into a gate's database in data.
func fillMirror(b *testing.B, data string, n int) { fillMirrorT(b, data, n) }

func fillMirrorT(b testing.TB, data string, n int) {
	st, err := store.Open(context.Background(), data)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	r := rand.New(rand.NewPCG(3, 4))
	vec := func(dim int) []float32 {
		v := make([]float32, dim)
		for i := range v {
			v[i] = float32(r.NormFloat64() / 10)
		}
		return v
	}
	now := time.Now()
	const batch = 5000
	for start := 0; start < n; start += batch {
		var changes []store.Change
		for i := start; i < min(start+batch, n); i++ {
			id := fmt.Sprintf("T%016d", i)
			e := &sgpb.Entitlement{
				TicketId: id, OrderId: fmt.Sprintf("ORDER-%010d", i/2), VisitorName: "张*",
				TicketType:  sgpb.TicketType_TICKET_TYPE_DAY_PASS,
				ValidFromMs: now.Add(-time.Hour).UnixMilli(), ValidUntilMs: now.Add(23 * time.Hour).UnixMilli(),
				Zones: []string{"main"}, QrTokenId: fmt.Sprintf("Q%015d", i), UpdatedAtMs: now.UnixMilli(), Version: 1,
				Faces: []*sgpb.FaceDescriptor{
					{FaceId: "F" + id, Model: "dlib", Values: vec(128)},
					{FaceId: "F" + id, Model: "mobilefacenet", Values: vec(192)},
				},
			}
			raw, _ := proto.Marshal(e)
			changes = append(changes, store.Change{TicketID: id, Data: raw, Revision: uint64(i + 1)})
		}
		if err := st.Apply(context.Background(), changes, uint64(min(start+batch, n))); err != nil {
			b.Fatal(err)
		}
	}
}

// gateRSS runs the gate on data until it has decided frames for a while and
// returns its resident and peak resident memory in MB.
func gateRSS(b *testing.B, data string) (rss, peak float64) {
	bin := buildGate(b)
	cam := b.TempDir()
	os.WriteFile(filepath.Join(cam, "visitor.jpg"), testenv.Photo(b, "obama2.jpg"), 0o644)
	cmd := exec.Command(bin, "--id", "rss-1", "--camera", cam, "--camera-fps", "5", "--relay", "log",
		"--nats", "nats://127.0.0.1:1", "--data", data, "--models", testenv.ModelDir(b), "--listen", "")
	logs, err := cmd.StderrPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	running := make(chan struct{})
	go func() {
		s := bufio.NewScanner(logs)
		once := false
		for s.Scan() {
			if !once && strings.Contains(s.Text(), "gate running") {
				once = true
				close(running)
			}
		}
	}()
	select {
	case <-running:
	case <-time.After(5 * time.Minute):
		b.Fatal("the gate did not start within 5 minutes")
	}
	// Frames are being decided; let the heap settle as on a running lane.
	time.Sleep(10 * time.Second)
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", cmd.Process.Pid))
	if err != nil {
		b.Fatal(err)
	}
	return procMB(status, "VmRSS:"), procMB(status, "VmHWM:")
}

// procMB reads a "Name:  1234 kB" line of /proc/<pid>/status in MB.
func procMB(status []byte, name string) float64 {
	for _, line := range strings.Split(string(status), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == name {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return 0
}
