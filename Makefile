# moongate — `make help` lists the targets.
SHELL := /bin/bash
GO ?= go
BIN := bin/moongate
VERSION := $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X github.com/moongate/moongate/core/gateway.Version=$(VERSION)
CONFIG ?= conf/moongate.toml

.PHONY: help build run test test-short race vet fmt fuzz bench bench-compare clean

help: ## list the targets
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-14s\033[0m %s\n", $$1, $$2}'

build: ## build bin/moongate
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/moongate

run: build ## build and run the gateway on conf/moongate.toml (CONFIG=... to change)
	./$(BIN) run -c $(CONFIG)

test: vet ## run every test: vet, gofmt check, unit + end-to-end tests, then the race detector
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || { echo "gofmt needed:"; gofmt -l .; exit 1; }
	$(GO) test -count=1 -timeout 8m ./...
	$(GO) test -race -count=1 -timeout 8m ./...

test-short: ## run the tests once, without the race detector
	$(GO) test -count=1 ./...

vet: ## go vet
	$(GO) vet ./...

fmt: ## gofmt every file
	gofmt -w $$(git ls-files '*.go')

# go test -fuzz takes one target per run: each runs for FUZZTIME, one after
# the other. New failing inputs are written to the package's
# testdata/fuzz/FuzzX/, where `make test` runs them from then on.
FUZZTIME ?= 30s
FUZZFLAGS ?= -fuzzminimizetime 10s
fuzz: ## run every fuzz target for FUZZTIME each (default 30s; FUZZFLAGS='-parallel 1' on a shared machine)
	$(GO) test -run '^$$' -fuzz '^FuzzPathNormalization$$' -fuzztime $(FUZZTIME) $(FUZZFLAGS) ./core/gateway
	$(GO) test -run '^$$' -fuzz '^FuzzRouter$$' -fuzztime $(FUZZTIME) $(FUZZFLAGS) ./core/router
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) $(FUZZFLAGS) ./core/config
	$(GO) test -run '^$$' -fuzz '^FuzzCacheControl$$' -fuzztime $(FUZZTIME) $(FUZZFLAGS) ./plugins/cache
	$(GO) test -run '^$$' -fuzz '^FuzzDeltaSeconds$$' -fuzztime $(FUZZTIME) $(FUZZFLAGS) ./plugins/cache
	$(GO) test -run '^$$' -fuzz '^FuzzHTTPDate$$' -fuzztime $(FUZZTIME) $(FUZZFLAGS) ./plugins/cache
	$(GO) test -run '^$$' -fuzz '^FuzzJWT$$' -fuzztime $(FUZZTIME) $(FUZZFLAGS) ./plugins/jwt
	$(GO) test -run '^$$' -fuzz '^FuzzJWTFlip$$' -fuzztime $(FUZZTIME) $(FUZZFLAGS) ./plugins/jwt
	$(GO) test -run '^$$' -fuzz '^FuzzSessionCookie$$' -fuzztime $(FUZZTIME) $(FUZZFLAGS) ./plugins/session
	$(GO) test -run '^$$' -fuzz '^FuzzSessionFlip$$' -fuzztime $(FUZZTIME) $(FUZZFLAGS) ./plugins/session
	$(GO) test -run '^$$' -fuzz '^FuzzSessionContents$$' -fuzztime $(FUZZTIME) $(FUZZFLAGS) ./plugins/session
	$(GO) test -run '^$$' -fuzz '^FuzzJSONDecode$$' -fuzztime $(FUZZTIME) $(FUZZFLAGS) ./sdk
	$(GO) test -run '^$$' -fuzz '^FuzzJSONEncode$$' -fuzztime $(FUZZTIME) $(FUZZFLAGS) ./sdk

BENCH ?= .
COUNT ?= 1
bench: ## Go micro-benchmarks of the request path, ns/op B/op allocs/op (BENCH=regexp COUNT=6 for benchstat)
	$(GO) test -run '^$$' -bench '$(BENCH)' -benchmem -count $(COUNT) ./...

ROUNDS ?= 3
DURATION ?= 10s
LAYOUT ?= pinned
bench-compare: export BENCH_NOTE = $(NOTE)
bench-compare: ## side by side with nginx, haproxy, varnish into bench/RESULTS.md (ROUNDS=3 DURATION=10s LAYOUT=pinned|shared NOTE=...; QUICK=1: smoke run into bench/out)
ifneq ($(QUICK),)
	bench/compare.sh --quick $(BENCH_FLAGS)
else
	bench/compare.sh --rounds $(ROUNDS) --duration $(DURATION) --layout $(LAYOUT) --results bench/RESULTS.md \
		--note "$$BENCH_NOTE" --command "make bench-compare ROUNDS=$(ROUNDS) DURATION=$(DURATION) LAYOUT=$(LAYOUT)$(if $(BENCH_FLAGS), BENCH_FLAGS='$(BENCH_FLAGS)')" $(BENCH_FLAGS)
endif

clean: ## remove build output
	rm -rf bin
