package main

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestReport(t *testing.T) {
	in := `goos: linux
BenchmarkDescriptor/640x480-2   	      10	  45221839 ns/op
BenchmarkDecision/gallery=10000-2 	20	 243034593 ns/op	 67.09 p50-ms	 80.14 p95-ms	 80.14 p99-ms
BenchmarkTestPhotos-2   	      10	  50000000 ns/op	 70.0 ms/photo
python: 350.0 ms/photo over 7 photos (face_recognition 1.3.0, dlib 20.0.1)
ok  	x	1s
`
	results, python := parse(strings.NewReader(in))
	if len(results) != 3 || python == "" {
		t.Fatalf("parse: %d results, python %q; want 3 and the python line", len(results), python)
	}
	var out bytes.Buffer
	render(&out, results, python, time.Unix(0, 0))
	for _, want := range []string{"| 640x480 | 45.2 |", "| gallery=10000 | 67.1 | 80.1 | 80.1 |", "Python takes 5.0× as long", "| Python face_recognition 1.3.0, dlib 20.0.1 | 350.0 |"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
}
