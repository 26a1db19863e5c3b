package main

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestReport(t *testing.T) {
	in := `goos: linux
load: 0.31 0.40 0.52 before -bench Descriptor ./models/faces
BenchmarkDescriptor/640x480-2   	      10	  45221839 ns/op
BenchmarkDecision/gallery=10000-2 	20	 243034593 ns/op	 67.09 p50-ms	 80.14 p95-ms	 80.14 p99-ms
BenchmarkTimeToOpen/model=mobilefacenet/640x480-2 	30	2627663911 ns/op	 0.51 dropped-%	 14.9 frames/s	 40.1 lane-ms	 0 missed	 30.00 opened	 120.6 p50-ms	 150 p95-ms
BenchmarkCameraFrames   	      10	  500000000 ns/op	 12.00 faces	 12.00 frames	 40.0 ms/frame
BenchmarkEmbedder/dlib   	      10	  50000000 ns/op	 10.0 ms/face
python: 100.0 ms/frame, 30.0 ms/face over 12 frames of 640x480, 12 faces (face_recognition 1.3.0, dlib 20.0.1)
ok  	x	1s
`
	got := parse(strings.NewReader(in))
	if len(got.results) != 5 || got.python == "" || len(got.loads) != 1 {
		t.Fatalf("parse: %d results, python %q, %d loads; want 5, the python line and 1", len(got.results), got.python, len(got.loads))
	}
	var out bytes.Buffer
	render(&out, got, time.Unix(0, 0))
	for _, want := range []string{
		"| 640x480 | 45.2 |",
		"| gallery=10000 | 67.1 | 80.1 | 80.1 |",
		"| model=mobilefacenet/640x480 | 120.6 | 150.0 | 30 | 0 | 14.9 | 1 | 40 |",
		"| ScenicGate (Go, go-face, Debian's dlib and OpenBLAS) | 12 of 12 frames | 40.0 | 10.0 |",
		"| Python face_recognition 1.3.0, dlib 20.0.1 | 12 of 12 frames | 100.0 | 30.0 |",
		"Python takes 2.5× as long per frame. Per face, the landmarks and descriptor take 3.0× as long in Python.",
		"`number_of_times_to_upsample=0`", "`taskset -c 0`",
		"- 0.31 0.40 0.52 before -bench Descriptor ./models/faces",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
}
