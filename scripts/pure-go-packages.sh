#!/usr/bin/env bash
# Lists the project's packages that do not link the face engine or OpenCV, so
# the race detector can run on them without rebuilding dlib and OpenCV bindings.
set -euo pipefail
go list -f '{{.ImportPath}} {{join .Deps " "}}' ./... |
	grep -v -E ' (github.com/Kagami/go-face|gocv.io/x/gocv)( |$)' |
	cut -d' ' -f1
