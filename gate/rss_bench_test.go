package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scenicgate/scenicgate/gate/store"
	"github.com/scenicgate/scenicgate/internal/qrtoken"
	"github.com/scenicgate/scenicgate/internal/signed"
	"github.com/scenicgate/scenicgate/internal/testenv"
	"github.com/scenicgate/scenicgate/proto/sgpb"
)

// BenchmarkGateRSS starts the gate program on a mirror of n tickets, each
// with one face described by dlib (128 values) and MobileFaceNet (192), as
// enroll publishes them, signed, and reports the resident memory once it is
// deciding frames: the figure a gate computer must have room for. The gate
// matches with its default model and has one face worker; NATS is
// unreachable, so the mirror comes from SQLite alone. start-s is the time
// from starting the program to its first frame: the mirror is loaded and
// every stored entitlement's signature checked first.
func BenchmarkGateRSS(b *testing.B) {
	for _, n := range []int{0, 100_000, 1_000_000} {
		b.Run(fmt.Sprintf("tickets=%d", n), func(b *testing.B) {
			data := b.TempDir()
			enroll, err := signed.LoadOrCreateSigner(filepath.Join(b.TempDir(), "enroll-signing.key"))
			if err != nil {
				b.Fatal(err)
			}
			start := time.Now()
			fillMirror(b, data, n, enroll)
			b.Logf("%d tickets written in %v", n, time.Since(start).Round(time.Millisecond))
			var m gateMemory
			for b.Loop() {
				m = gateRSS(b, data, enroll)
			}
			b.ReportMetric(m.rss, "rss-MB")
			b.ReportMetric(m.peak, "peak-rss-MB")
			b.ReportMetric(m.start.Seconds(), "start-s")
		})
	}
}

// fillMirror writes n day passes valid today, signed by enroll, into a
// gate's database in data. They are made and signed on every core, and
// written in batches of 10,000.
func fillMirror(b testing.TB, data string, n int, enroll *signed.Signer) {
	ctx := context.Background()
	st, err := store.Open(ctx, data)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	now := time.Now()
	const batch = 10_000
	workers := runtime.NumCPU()
	for first := 0; first < n; first += batch {
		changes := make([]store.Change, min(batch, n-first))
		errs := make([]error, workers)
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() {
				r := rand.New(rand.NewPCG(uint64(first), uint64(w)))
				vec := func(dim int) []float32 {
					v := make([]float32, dim)
					for i := range v {
						v[i] = float32(r.NormFloat64() / 10)
					}
					return v
				}
				for k := w; k < len(changes); k += workers {
					i := first + k
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
					raw, err := enroll.SignMessage(signed.Entitlement, e, now)
					if err != nil {
						errs[w] = err
						return
					}
					changes[k] = store.Change{TicketID: id, Data: raw, Revision: uint64(i + 1)}
				}
			})
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			b.Fatal(err)
		}
		if err := st.Apply(ctx, changes, uint64(first+len(changes))); err != nil {
			b.Fatal(err)
		}
	}
}

type gateMemory struct {
	rss, peak float64 // MB
	start     time.Duration
}

// gateRSS runs the gate on data, trusting enroll's key, until it has
// decided frames for a while and returns its resident and peak resident
// memory and how long it took to start.
func gateRSS(b *testing.B, data string, enroll *signed.Signer) gateMemory {
	bin := buildGate(b)
	cam := b.TempDir()
	os.WriteFile(filepath.Join(cam, "visitor.jpg"), testenv.Photo(b, "obama2.jpg"), 0o644)
	admin, err := signed.LoadOrCreateSigner(filepath.Join(b.TempDir(), "admin-signing.key"))
	if err != nil {
		b.Fatal(err)
	}
	// The photo's face is as large as a 640x480 camera's: --min-face 80.
	cmd := exec.Command(bin, "--id", "rss-1", "--camera", cam, "--camera-fps", "5", "--relay", "log", "--min-face", "80",
		"--unknown-after", "0", // the stranger is refused as soon as the frames are enough
		"--nats", "nats://127.0.0.1:1", "--data", data, "--models", testenv.ModelDir(b), "--listen", "",
		"--trust-enroll", qrtoken.MarshalPublicKey(enroll.PublicKey()),
		"--trust-admin", qrtoken.MarshalPublicKey(admin.PublicKey()))
	logs, err := cmd.StderrPipe()
	if err != nil {
		b.Fatal(err)
	}
	started := time.Now()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	// The first decision about the visitor, an unknown face, says that
	// frames are being decided.
	deciding := make(chan struct{})
	exited := make(chan string, 1)
	go func() {
		s := bufio.NewScanner(logs)
		once := false
		last := ""
		for s.Scan() {
			if line := s.Text(); !once && strings.Contains(line, "gate decision") {
				once = true
				close(deciding)
			} else if line != "" {
				last = line
			}
		}
		exited <- last
	}()
	var m gateMemory
	select {
	case <-deciding:
		m.start = time.Since(started)
	case last := <-exited:
		b.Fatalf("the gate stopped: %s", last)
	case <-time.After(10 * time.Minute):
		b.Fatal("the gate decided no frame within 10 minutes")
	}
	// Frames are being decided; let the heap settle as on a running lane.
	time.Sleep(10 * time.Second)
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", cmd.Process.Pid))
	if err != nil {
		b.Fatal(err)
	}
	m.rss, m.peak = testenv.ProcMB(status, "VmRSS:"), testenv.ProcMB(status, "VmHWM:")
	return m
}
