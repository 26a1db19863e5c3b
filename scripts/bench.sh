#!/usr/bin/env bash
# Runs the benchmarks and writes one report: var/bench/report.md (also
# printed). Timing figures depend on the machine; run it on the hardware
# that will run the gates.
set -euo pipefail
cd "$(dirname "$0")/.."

out=${SCENICGATE_BENCH_OUT:-var/bench}
mkdir -p "$out"
raw="$out/raw.txt"
: >"$raw"

# load notes the machine's load average before a group of benchmarks, for
# the report: figures taken while other work runs are slower.
load() {
	echo "load: $(cut -d' ' -f1-3 /proc/loadavg) before $*" | tee -a "$raw"
}

run() {
	echo "== go test $*"
	load "$*"
	go test -run '^$' -count=1 "$@" 2>&1 | tee -a "$raw" | grep -E '^(Benchmark|ok|FAIL|---)' || true
	if grep -q '^FAIL' "$raw"; then
		echo "bench: a benchmark failed; see $raw" >&2
		exit 1
	fi
}

# One core, one thread: for the per-face times and the comparison with
# Python below, which runs the same way.
one_core=(env GOMAXPROCS=1 OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 taskset -c 0)

# The same camera-like 640x480 frames (PNG) for both face engines.
frames="$(cd "$out" && pwd)/frames"
rm -rf "$frames"
go run ./scripts/benchframes -models "${SCENICGATE_MODELS:-models}" -photos "${SCENICGATE_TESTDATA:-testdata}" "$frames"

# run_one_core PACKAGE ARGS... runs a package's benchmarks pinned to CPU 0.
run_one_core() {
	local pkg=$1
	shift
	echo "== one core: go test $pkg $*"
	load "$pkg $* (one core)"
	go test -c -o "$out/bench.test" "$pkg"
	"${one_core[@]}" env SCENICGATE_BENCH_FRAMES="$frames" "$out/bench.test" -test.run '^$' -test.cpu 1 "$@" 2>&1 |
		tee -a "$raw" | grep -E '^(Benchmark|ok|FAIL|---)' || true
	rm -f "$out/bench.test"
	if grep -q '^FAIL' "$raw"; then
		echo "bench: a benchmark failed; see $raw" >&2
		exit 1
	fi
}

run -bench 'Descriptor|Throughput' -benchtime 10x ./models/faces
run_one_core ./models/faces -test.bench 'CameraFrames|Embedder$|DetectorModels' -test.benchtime 10x
run -bench 'Search' -benchtime 20x ./gate/matcher
run -bench 'DefaultPolicy' -benchtime 1x ./gate/calibrate
run -bench 'Decision' -benchtime 40x ./gate/node
run -bench 'TimeToOpen' -benchtime 30x -timeout 60m ./gate/node
run -bench 'Sync' -benchtime 200x ./gate/node
run -bench 'GateRSS' -benchtime 1x -timeout 60m ./gate
run -bench 'EnrollRSS' -benchtime 1x -timeout 120m ./enroll
run -bench 'Enroll' -benchtime 20x ./enroll/app
run -bench 'Publish' -benchtime 5000x ./enroll/publish

# The same frames through Python's face_recognition, with dlib from a
# prebuilt wheel, in a virtual environment of its own, on one core.
venv=.cache/pybench
echo "== python: face_recognition on the same frames, one core"
if ! command -v python3 >/dev/null 2>&1; then
	echo "python: skipped: python3 is not installed" | tee -a "$raw"
else
	if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import face_recognition, dlib' 2>/dev/null; then
		rm -rf "$venv"
		if ! { python3 -m venv "$venv" &&
			"$venv/bin/pip" install -q dlib-bin numpy pillow click face_recognition_models==0.3.0 &&
			"$venv/bin/pip" install -q --no-deps face_recognition==1.3.0; } >"$out/pip.log" 2>&1; then
			echo "python: skipped: could not install face_recognition (see $out/pip.log)" | tee -a "$raw"
		fi
	fi
	if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c 'import face_recognition, dlib' 2>/dev/null; then
		load "python scripts/bench_python.py (one core)"
		"${one_core[@]}" "$venv/bin/python" scripts/bench_python.py "$frames" | tee -a "$raw"
	fi
fi

go run ./scripts/benchreport <"$raw" >"$out/report.md"
echo
cat "$out/report.md"
echo "(written to $out/report.md)"
