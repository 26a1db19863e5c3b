package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gocv.io/x/gocv"

	"github.com/scenicgate/scenicgate/internal/rules"
	"github.com/scenicgate/scenicgate/internal/testenv"
)

// enrollments is how many visitors BenchmarkEnrollRSS enrolls.
const enrollments = 10_000

// BenchmarkEnrollRSS starts the enroll program, with its embedded NATS
// server and the models `make models` installs (dlib and MobileFaceNet),
// enrolls 10,000 visitors over its
// HTTP API — one order of one visitor with one photo each, from as many
// clients as there are cores — waits until every ticket is published, and
// reports enroll's resident and peak resident memory. The photos are the
// test photos and their mirror images, at 800 pixels on the long side, as a
// ticket shop might send them; the same faces come back again and again, so
// enroll warns of duplicates, which costs it a comparison with every active
// ticket.
func BenchmarkEnrollRSS(b *testing.B) {
	bin := buildEnroll(b)
	photos := enrollPhotos(b)
	for b.Loop() {
		data := b.TempDir()
		key := apiKey(b, bin, data)
		addr, stop := startEnroll(b, bin, data)
		start := time.Now()
		enrollAll(b, addr, key, photos)
		took := time.Since(start)
		waitPublished(b, addr)
		rss, peak := stop()
		b.ReportMetric(rss, "rss-MB")
		b.ReportMetric(peak, "peak-rss-MB")
		b.ReportMetric(enrollments/took.Seconds(), "enrollments/s")
	}
}

func buildEnroll(b *testing.B) string {
	bin := filepath.Join(b.TempDir(), "enroll")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// enrollPhotos returns the test photos with one face each, and their mirror
// images, as JPEGs of 800 pixels on the long side.
func enrollPhotos(b *testing.B) [][]byte {
	var out [][]byte
	for _, name := range []string{"obama.jpg", "obama2.jpg", "obama3.jpg", "biden.jpg"} {
		m := gocv.IMRead(testenv.PhotoPath(b, name), gocv.IMReadColor)
		s := 800 / float64(max(m.Cols(), m.Rows()))
		small := gocv.NewMat()
		gocv.Resize(m, &small, image.Pt(int(float64(m.Cols())*s), int(float64(m.Rows())*s)), 0, 0, gocv.InterpolationArea)
		mirrored := gocv.NewMat()
		gocv.Flip(small, &mirrored, 1)
		for _, v := range []gocv.Mat{small, mirrored} {
			buf, err := gocv.IMEncodeWithParams(gocv.JPEGFileExt, v, []int{gocv.IMWriteJpegQuality, 90})
			if err != nil {
				b.Fatal(err)
			}
			out = append(out, bytes.Clone(buf.GetBytes()))
			buf.Close()
		}
		m.Close()
		small.Close()
		mirrored.Close()
	}
	return out
}

func apiKey(b *testing.B, bin, data string) string {
	out, err := exec.Command(bin, "apikey", "create", "--name", "bench", "--scope", "shop", "--data", data).Output()
	if err != nil {
		b.Fatalf("enroll apikey create: %v", err)
	}
	return strings.TrimSpace(string(out))
}

func benchAddr(b *testing.B) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// startEnroll runs enroll on data until it listens. stop reads its
// resident and peak resident memory in MB and stops it.
func startEnroll(b *testing.B, bin, data string) (addr string, stop func() (rss, peak float64)) {
	addr = benchAddr(b)
	cmd := exec.Command(bin, "--data", data, "--listen", addr, "--nats-listen", benchAddr(b),
		"--models", testenv.ModelDir(b), "--face-models", "dlib,mobilefacenet", "--log-level", "warn")
	logs, err := cmd.StderrPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	var once sync.Once
	kill := func() { once.Do(func() { cmd.Process.Kill(); cmd.Wait() }) }
	b.Cleanup(kill)
	go io.Copy(io.Discard, bufio.NewReader(logs))
	for start := time.Now(); ; time.Sleep(100 * time.Millisecond) {
		if resp, err := http.Get("http://" + addr + "/metrics"); err == nil {
			resp.Body.Close()
			break
		}
		if time.Since(start) > 2*time.Minute {
			b.Fatal("enroll did not listen within 2 minutes")
		}
	}
	return addr, func() (float64, float64) {
		defer kill()
		status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", cmd.Process.Pid))
		if err != nil {
			b.Fatal(err)
		}
		return testenv.ProcMB(status, "VmRSS:"), testenv.ProcMB(status, "VmHWM:")
	}
}

// enrollAll posts the orders from one client per core.
func enrollAll(b *testing.B, addr, key string, photos [][]byte) {
	today := rules.Site{}.Day(time.Now()).String()
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, runtime.NumCPU())
	for range runtime.NumCPU() {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= enrollments {
					return
				}
				body, _ := json.Marshal(map[string]any{
					"order_id": fmt.Sprintf("rss-%05d", i), "consent": true,
					"visitors": []any{map[string]any{"name": "游客", "ticket_type": "annual", "valid_from": today,
						"zones": []string{"main"}, "photos": [][]byte{photos[i%len(photos)]}}},
				})
				req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/api/v1/tickets", bytes.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+key)
				req.Header.Set("Content-Type", "application/json")
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					errs <- err
					return
				}
				msg, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusCreated {
					errs <- fmt.Errorf("order %d: status %d: %s", i, resp.StatusCode, msg)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
}

var outboxDepth = regexp.MustCompile(`(?m)^scenicgate_enroll_outbox_depth (\S+)$`)

// waitPublished waits until enroll's outbox is empty: every ticket is in
// NATS.
func waitPublished(b *testing.B, addr string) {
	for start := time.Now(); time.Since(start) < 5*time.Minute; time.Sleep(200 * time.Millisecond) {
		resp, err := http.Get("http://" + addr + "/metrics")
		if err != nil {
			b.Fatal(err)
		}
		text, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if m := outboxDepth.FindSubmatch(text); m != nil {
			if depth, _ := strconv.ParseFloat(string(m[1]), 64); depth == 0 {
				return
			}
		}
	}
	b.Fatal("enroll's outbox was not empty within 5 minutes")
}
