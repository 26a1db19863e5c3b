// Command benchreport turns the output of `make bench` (go test -bench lines,
// the Python comparison line and the load average before each group) into
// one markdown report on stdout: the date, the machine and every figure.
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

// input is what `make bench` printed: benchmark results, the Python
// comparison's line and the load average before each group.
type input struct {
	results []result
	python  string
	loads   []string
}

func parse(r io.Reader) input {
	var in input
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "python:") {
			in.python = strings.TrimSpace(strings.TrimPrefix(line, "python:"))
			continue
		}
		if strings.HasPrefix(line, "load:") {
			in.loads = append(in.loads, strings.TrimSpace(strings.TrimPrefix(line, "load:")))
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
		in.results = append(in.results, res)
	}
	return in
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
	{"Time to open: the first frame with the face large enough to the relay's \"on\"", "TimeToOpen/", []column{
		p50, p95, {"opened", "opened", 1, "%.0f"}, {"missed", "missed", 1, "%.0f"},
		{"frames/s", "frames/s", 1, "%.1f"}, {"dropped %", "dropped-%", 1, "%.0f"}, {"lane ms/frame", "lane-ms", 1, "%.0f"},
	}, "The whole lane as the gate program runs it (`go test -run '^$' -bench TimeToOpen -benchtime 30x ./gate/node`): a recorded camera playing at 15 fps that keeps only its newest frame, a visitor walking up over a second (the face growing from a quarter of its size to a third of the frame's height, past --min-face: 160 at 1280x720, the default, and 80 at 640x480) after a second of nobody, the QR reader beside the face engine, 100,000 other tickets in the gallery, the default detector (BlazeFace), one decision per approach from the fused descriptors of its last 3 frames, the rules, the claim of an entry in NATS and the relay simulator on a pseudo-terminal. Each approach is timed from the first frame whose face is at least --min-face to the relay's \"on\" bytes; a missed approach did not open within 5 s. frames/s is what the lane processed while the camera played at 15, dropped % the camera frames it was too busy for, lane ms/frame its mean time per frame. Target: p95 ≤ 300 ms."},
	{"Face engine: photo to descriptors, one worker", "Descriptor/", []column{msPerOp}, "JPEG bytes in, one descriptor per installed model out (decode, downscale, detect, landmarks, dlib's descriptor, align and run each ONNX model)."},
	{"Face models: the cost of one face, one core", "Embedder/", []column{{"ms per face", "ms/face", 1, "%.1f"}}, "For the ONNX models, alignment from dlib's landmarks and the network; for dlib, the five landmarks, the aligned chip and dlib's ResNet, which go-face runs for every face it finds whatever the gate's model (measured as a frame with two faces described less the same frame only searched, halved). Finding the face comes on top, for every model: see the comparison with Python below. Pinned to one CPU (taskset -c 0), GOMAXPROCS=1, one OpenBLAS and one OpenCV thread."},
	{"Face detector and landmark networks: one forward pass, one core", "DetectorModels/", []column{msPerOp}, "MediaPipe's BlazeFace short-range detector (128x128 in, 896 anchors out) and FaceMesh (192x192 in, 468 points out) through OpenCV, from a ready input blob to a copy of every output. Pinned to one CPU (taskset -c 0), one OpenCV thread."},
	{"A lane's largest face, by detector: one core", "LargestFace/", []column{msPerOp}, "LargestFace on a 1280x720 frame with min-face 160: nobody in view, and a face of about 250 pixels found, aligned and described by MobileFaceNet. Pinned to one CPU, one OpenCV thread."},
	{"Face engine: throughput", "Throughput/", []column{{"photos/s", "photos/s", 1, "%.1f"}}, "A 626x1200 photo, repeated; workers are recognizers in the pool, blas the OpenBLAS threads."},
	{"Matcher: 1:N search", "Search/", []column{{"ms per query (mean)", "ns/op", 1e-6, "%.3f"}, {"median ms", "p50-ms", 1, "%.3f"}, {"bytes per descriptor", "B/descriptor", 1, "%.0f"}}, "One query against random descriptors of dlib's (128) and MobileFaceNet's (192) shape, best and second-best ticket: the two-pass search the gate uses (4-bit codes bound every distance on all cores and the descriptors that could be nearest are compared exactly; results identical to the exact scan) and the exact scan of every descriptor on one thread. The median is beside the mean because on a shared machine a few searches wait for another tenant. Bytes per descriptor are the gallery's memory for the two-pass search."},
	{"Gate decision latency, 640x480, default model", "Decision/", []column{p50, p95, p99}, "From capture of the deciding frame to the relay's \"on\" command read by the relay simulator, frames given to the lane one after another; the gate matches with its default model (MobileFaceNet)."},
	{"Gate resident memory", "GateRSS/", []column{{"RSS MB", "rss-MB", 1, "%.0f"}, {"peak RSS MB", "peak-rss-MB", 1, "%.0f"}, {"start s", "start-s", 1, "%.1f"}}, "The gate program deciding frames, one face worker, default model; each ticket has one face described by dlib and MobileFaceNet, signed by enroll. start s is the time to its first decision: loading the mirror checks every stored entitlement's signature."},
	{"Enroll resident memory after 10,000 enrollments", "EnrollRSS", []column{{"RSS MB", "rss-MB", 1, "%.0f"}, {"peak RSS MB", "peak-rss-MB", 1, "%.0f"}, {"enrollments/s", "enrollments/s", 1, "%.1f"}}, "The enroll program with its embedded NATS server and the models `make models` installs (dlib, MobileFaceNet): 10,000 orders of one visitor with one photo each over its HTTP API, from one client per core, then every ticket published; the photos are the test photos and their mirror images, so most faces are reported as duplicates."},
	{"Enrollment latency, one visitor with one photo", "Enroll/", []column{p50, p95}, "POST /api/v1/tickets over HTTP: face engine, SQLite, QR token."},
	{"Enroll to gate sync", "Sync", []column{p50, p99}, "From enroll's commit to the ticket in a gate's mirror (outbox, KV, watch, SQLite)."},
	{"Default matching policy on the test photos", "DefaultPolicy", []column{
		{"genuine trials", "genuine-trials", 1, "%.0f"}, {"accepted", "genuine-accept-rate", 1, "%.3f"},
		{"impostor trials", "impostor-trials", 1, "%.0f"}, {"false accepts", "false-accept-rate", 1, "%.3f"},
	}, "Open-set 1:N, single frame, each model's default threshold and margin (`gate calibrate` on a site's own photos gives the real figures)."},
	{"Entitlements into NATS", "Publish", []column{{"entitlements/s", "entitlements/s", 1, "%.0f"}}, "The outbox publisher's rate into KV ENTITLEMENTS."},
}

func render(w io.Writer, in input, now time.Time) {
	fmt.Fprintf(w, "# ScenicGate benchmark report\n\n%s. Figures from `make bench` on %s.\n", now.Format("2006-01-02 15:04 MST"), machine())
	for _, s := range sections {
		var rows []result
		for _, r := range in.results {
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
	renderPython(w, in.results, in.python)
	if len(in.loads) > 0 {
		fmt.Fprint(w, "\n## Load\n\nThe machine's load average (1, 5 and 15 minutes) before each group of benchmarks; figures taken while other work runs are slower.\n\n")
		for _, l := range in.loads {
			fmt.Fprintf(w, "- %s\n", l)
		}
	}
}

var pythonLine = regexp.MustCompile(`^([\d.]+) ms/frame, ([\d.]+) ms/face over (\d+) frames of (\d+x\d+), (\d+) faces \((.*)\)`)

func renderPython(w io.Writer, results []result, python string) {
	fmt.Fprint(w, "\n## The same frames through Python's face_recognition\n\n")
	var goFrame, goFaces, goFrames, goFace float64
	for _, r := range results {
		switch r.name {
		case "CameraFrames":
			goFrame, goFaces, goFrames = r.metrics["ms/frame"], r.metrics["faces"], r.metrics["frames"]
		case "Embedder/dlib":
			goFace = r.metrics["ms/face"]
		}
	}
	m := pythonLine.FindStringSubmatch(python)
	switch {
	case python == "":
		fmt.Fprintln(w, "Not run.")
	case m == nil:
		fmt.Fprintln(w, python)
	case goFrame <= 0:
		fmt.Fprintf(w, "Python: %s. The Go figure is missing.\n", python)
	default:
		pyFrame, _ := strconv.ParseFloat(m[1], 64)
		pyFace, _ := strconv.ParseFloat(m[2], 64)
		fmt.Fprintf(w, "Both sides are given the same %s camera-like %s frames, PNG files made from the test photos by "+
			"`scripts/benchframes` (faces 90, 130 and 170 pixels wide on a textured background with sensor noise), "+
			"decoded before the clock starts, and do the same work: every face found by dlib's HOG detector with no "+
			"upsampling (`number_of_times_to_upsample=0` in Python; go-face never upsamples), five landmarks "+
			"(`model=\"small\"`) and dlib's 128-value descriptor, computed once (`num_jitters=1`). "+
			"Each runs on one core: `taskset -c 0`, `OPENBLAS_NUM_THREADS=1`, `OMP_NUM_THREADS=1`; "+
			"Go with `GOMAXPROCS=1` and one face worker. ScenicGate's side also encodes each frame as JPEG for go-face, "+
			"which takes only JPEG, and that is counted against it.\n\n", m[3], m[4])
		fmt.Fprintf(w, "| engine | faces found | ms per frame | ms per face (landmarks and descriptor) |\n|---|---:|---:|---:|\n")
		faceCell := "–"
		if goFace > 0 {
			faceCell = fmt.Sprintf("%.1f", goFace)
		}
		fmt.Fprintf(w, "| ScenicGate (Go, go-face, Debian's dlib and OpenBLAS) | %.0f of %.0f frames | %.1f | %s |\n", goFaces, goFrames, goFrame, faceCell)
		fmt.Fprintf(w, "| Python %s | %s of %s frames | %.1f | %.1f |\n\n", m[6], m[5], m[3], pyFrame, pyFace)
		fmt.Fprintf(w, "Python takes %.1f× as long per frame.", pyFrame/goFrame)
		if goFace > 0 {
			fmt.Fprintf(w, " Per face, the landmarks and descriptor take %.1f× as long in Python.", pyFace/goFace)
		}
		fmt.Fprintln(w, " The ONNX models' time per face is in the table of face models above.")
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
	in := parse(os.Stdin)
	if len(in.results) == 0 {
		fmt.Fprintln(os.Stderr, "benchreport: no benchmark results on stdin")
		os.Exit(1)
	}
	render(os.Stdout, in, time.Now())
}
