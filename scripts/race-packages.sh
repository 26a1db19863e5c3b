#!/usr/bin/env bash
# Lists the packages `make test` runs under the race detector: every package
# of the module except its own bindings to C++ libraries.
#
# The detector instruments Go code; C and C++ run uninstrumented at full
# speed. Packages that link the face engine or OpenCV without being bindings
# themselves (gate/node, enroll/app, enroll/service, hardware/camera, ...)
# run our goroutines around those calls, which is what the detector is for.
# The bindings (packages with C++ files of their own: models/faces,
# hardware/qr) spend their tests in C++, where it sees nothing, so racing
# them would only cost time. A package with a small C kernel of its own
# (gate/matcher's search) spends its tests in Go and is raced.
#
# The list is worked out by go list at each run: a new package is raced
# unless it is itself a binding.
set -euo pipefail
cd "$(dirname "$0")/.."
go list -f '{{if not .CXXFiles}}{{.ImportPath}}{{end}}' ./...
