// Command benchreport turns the output of `make bench` (go test -bench lines
// and the Python comparison line) into one markdown report on stdout.
package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// result is one benchmark line: its name without the -GOMAXPROCS suffix, and
// its metrics by unit ("ns/op", "p50-ms", ...).
type result struct {
	name    string
	metrics map[string]float64
}

var suffix = regexp.MustCompile(`-\d+$`)

func parse(r io.Reader) ([]result, string) {
	var results []result
	python := ""
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "python:") {
			python = strings.TrimSpace(strings.TrimPrefix(line, "python:"))
			continue
		}
		f := strings.Fields(line)
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		res := result{name: suffix.ReplaceAllString(strings.TrimPrefix(f[0], "Benchmark"), ""), metrics: map[string]float64{}}
		for i := 2; i+1 < len(f); i += 2 {
			if v, err := strconv.ParseFloat(f[i], 64); err == nil {
				res.metrics[f[i+1]] = v
			}
		}
		results = append(results, res)
	}
	return results, python
}

type section struct {
	title, prefix string
	columns       []column
	note          string
}

type column struct {
	header string
	unit   string
	scale  float64 // multiply the metric by this
	format string
}

var (
	msPerOp = column{"ms per op", "ns/op", 1e-6, "%.1f"}
	p50     = column{"p50 ms", "p50-ms", 1, "%.1f"}
	p95     = column{"p95 ms", "p95-ms", 1, "%.1f"}
	p99     = column{"p99 ms", "p99-ms", 1, "%.1f"}
)

var sections = []section{
	{"Face engine: photo to descriptors, one worker", "Descriptor/", []column{msPerOp}, "JPEG bytes in, one descriptor per installed model out (decode, downscale, detect, landmarks, dlib's descriptor, align and run each ONNX model)."},
	{"Face models: the cost of one face per ONNX model, one core", "Embedder/", []column{msPerOp}, "Alignment from dlib's landmarks and the network, for a face already found; dlib's own descriptor comes with finding the face."},
	{"Face engine: throughput", "Throughput/", []column{{"photos/s", "photos/s", 1, "%.1f"}}, "A 626x1200 photo, repeated; workers are recognizers in the pool, blas the OpenBLAS threads."},
	{"Matcher: exact 1:N search", "Search/", []column{msPerOp}, "One query against the whole gallery, best and second-best ticket."},
	{"Gate decision latency, 640x480, default model", "Decision/", []column{p50, p95, p99}, "From capture of the deciding frame to the relay's \"on\" command read by the relay simulator; the gate matches with its default model (MobileFaceNet)."},
	{"Gate resident memory", "GateRSS/", []column{{"RSS MB", "rss-MB", 1, "%.0f"}, {"peak RSS MB", "peak-rss-MB", 1, "%.0f"}}, "The gate program deciding frames, one face worker, default model; each ticket has one face described by dlib and MobileFaceNet."},
	{"Enrollment latency, one visitor with one photo", "Enroll/", []column{p50, p95}, "POST /api/v1/tickets over HTTP: face engine, SQLite, QR token."},
	{"Enroll to gate sync", "Sync", []column{p50, p99}, "From enroll's commit to the ticket in a gate's mirror (outbox, KV, watch, SQLite)."},
	{"Default matching policy on the test photos", "DefaultPolicy", []column{
		{"genuine trials", "genuine-trials", 1, "%.0f"}, {"accepted", "genuine-accept-rate", 1, "%.3f"},
		{"impostor trials", "impostor-trials", 1, "%.0f"}, {"false accepts", "false-accept-rate", 1, "%.3f"},
	}, "Open-set 1:N, single frame, each model's default threshold and margin (`gate calibrate` on a site's own photos gives the real figures)."},
	{"Entitlements into NATS", "Publish", []column{{"entitlements/s", "entitlements/s", 1, "%.0f"}}, "The outbox publisher's rate into KV ENTITLEMENTS."},
}

func render(w io.Writer, results []result, python string, now time.Time) {
	fmt.Fprintf(w, "# ScenicGate benchmark report\n\n%s. Figures from `make bench` on %s.\n", now.Format("2006-01-02 15:04 MST"), machine())
	for _, s := range sections {
		var rows []result
		for _, r := range results {
			if strings.HasPrefix(r.name, s.prefix) {
				rows = append(rows, r)
			}
		}
		if len(rows) == 0 {
			continue
		}
		fmt.Fprintf(w, "\n## %s\n\n%s\n\n| case |", s.title, s.note)
		for _, c := range s.columns {
			fmt.Fprintf(w, " %s |", c.header)
		}
		fmt.Fprint(w, "\n|---|")
		for range s.columns {
			fmt.Fprint(w, "---:|")
		}
		fmt.Fprintln(w)
		for _, r := range rows {
			name := strings.TrimPrefix(r.name, s.prefix)
			if name == "" {
				name = r.name
			}
			fmt.Fprintf(w, "| %s |", name)
			for _, c := range s.columns {
				if v, ok := r.metrics[c.unit]; ok {
					fmt.Fprintf(w, " "+c.format+" |", v*c.scale)
				} else {
					fmt.Fprint(w, " – |")
				}
			}
			fmt.Fprintln(w)
		}
	}
	renderPython(w, results, python)
}

var pythonLine = regexp.MustCompile(`^([\d.]+) ms/photo over (\d+) photos \((.*)\)`)

func renderPython(w io.Writer, results []result, python string) {
	fmt.Fprint(w, "\n## The same photos through Python's face_recognition\n\n")
	goMs := -1.0
	for _, r := range results {
		if r.name == "TestPhotos" {
			goMs = r.metrics["ms/photo"]
		}
	}
	m := pythonLine.FindStringSubmatch(python)
	switch {
	case python == "":
		fmt.Fprintln(w, "Not run.")
	case m == nil:
		fmt.Fprintln(w, python)
	case goMs <= 0:
		fmt.Fprintf(w, "Python: %s. The Go figure is missing.\n", python)
	default:
		py, _ := strconv.ParseFloat(m[1], 64)
		fmt.Fprintf(w, "The %s test photos, one worker, face found and described (5-point alignment).\n\n", m[2])
		fmt.Fprintf(w, "| engine | ms per photo |\n|---|---:|\n| ScenicGate (Go, dlib, OpenBLAS) | %.1f |\n| Python %s | %.1f |\n\nPython takes %.1f× as long per photo.\n",
			goMs, m[3], py, py/goMs)
	}
}

// machine describes the computer: its CPU model, cores and memory.
func machine() string {
	cpu, mem := "an unknown CPU", ""
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				cpu = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		if f := strings.Fields(string(b)); len(f) >= 2 && f[0] == "MemTotal:" {
			if kb, err := strconv.ParseFloat(f[1], 64); err == nil {
				mem = fmt.Sprintf(", %.0f GiB", kb/(1<<20))
			}
		}
	}
	return fmt.Sprintf("%s, %d cores%s", cpu, runtime.NumCPU(), mem)
}

func main() {
	results, python := parse(os.Stdin)
	if len(results) == 0 {
		fmt.Fprintln(os.Stderr, "benchreport: no benchmark results on stdin")
		os.Exit(1)
	}
	render(os.Stdout, results, python, time.Now())
}
