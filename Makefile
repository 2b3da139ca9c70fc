# moongate — `make help` lists the targets.
SHELL := /bin/bash
GO ?= go
BIN := bin/moongate
VERSION := $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT := $(shell git rev-parse HEAD 2>/dev/null)
LDFLAGS := -s -w -X github.com/moongate/moongate/core/gateway.Version=$(VERSION) -X github.com/moongate/moongate/core/gateway.Commit=$(COMMIT)
CONFIG ?= conf/moongate.toml

.PHONY: help build run test test-short race vet fmt check fuzz bench bench-scale bench-scale-e2e bench-compare clean redis-server npm chromium

help: ## list the targets
	@grep -E '^[a-zA-Z0-9_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-14s\033[0m %s\n", $$1, $$2}'

build: ## build bin/moongate
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/moongate

run: build ## build and run the gateway on conf/moongate.toml (CONFIG=... to change)
	./$(BIN) run -c $(CONFIG)

test: vet redis-server npm chromium ## run every test: vet, gofmt check, unit + end-to-end tests, then the race detector
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || { echo "gofmt needed:"; gofmt -l .; exit 1; }
	$(GO) test -count=1 -timeout 8m ./...
	$(GO) test -race -count=1 -timeout 8m ./...

test-short: redis-server npm chromium ## run the tests once, without the race detector
	$(GO) test -count=1 ./...

# The Redis tests (core/redistest) start their own redis-server processes on
# free loopback ports; they never use a system Redis. When the binary is
# missing, Debian's package is installed without starting its service (a
# policy-rc.d that refuses, for the time of the install, where none exists)
# and, on a systemd machine, the service is disabled again.
redis-server: ## install redis-server (Debian package) when missing, for the tests
	@command -v redis-server >/dev/null || { \
		echo "installing redis-server (apt-get)"; \
		SUDO=; if [ "$$(id -u)" != 0 ]; then SUDO=$$(command -v sudo) || { echo "redis-server missing and not root: apt-get install redis-server"; exit 1; }; fi; \
		$$SUDO sh -ec 'p=/usr/sbin/policy-rc.d; \
			if [ ! -e $$p ]; then printf "#!/bin/sh\nexit 101\n" >$$p; chmod +x $$p; trap "rm -f $$p" EXIT; fi; \
			apt-get update -qq; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null; \
			if [ -d /run/systemd/system ]; then systemctl disable --now redis-server >/dev/null 2>&1 || true; fi'; \
		command -v redis-server >/dev/null || { echo "redis-server still missing after apt-get"; exit 1; }; \
	}

# The official SDK test (tests/aitest TestOfficialSDKs) installs the npm
# packages openai and @anthropic-ai/sdk into a temporary folder and points
# them at a gateway. When npm is missing, Debian's nodejs and npm are
# installed (about 400 small packages); when that cannot be done (not root
# and no sudo, no apt-get, offline), the tests go on and that one skips with
# a message. NPM=0 skips the install.
npm: ## install node and npm (Debian packages) when missing, for the official SDK test
	@command -v npm >/dev/null || [ "$(NPM)" = 0 ] || { \
		echo "installing nodejs and npm (apt-get), for the official SDK test"; \
		SUDO=; if [ "$$(id -u)" != 0 ]; then SUDO=$$(command -v sudo) || { echo "npm missing and not root: TestOfficialSDKs will skip (apt-get install nodejs npm)"; exit 0; }; fi; \
		command -v apt-get >/dev/null && $$SUDO sh -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null' \
			|| echo "could not install nodejs and npm: TestOfficialSDKs will skip"; \
	}

# The dashboard's browser test (core/dashboard, TestBrowser) drives a
# headless Chromium. When none is found (chromium, chromium-browser,
# google-chrome or $MOONGATE_BROWSER), Debian's package is installed; if
# that cannot be done, make goes on and the test skips, saying why.
chromium: ## install Debian's chromium when no browser is found, for the dashboard's browser test
	@if [ -n "$$MOONGATE_BROWSER" ] || command -v chromium >/dev/null || command -v chromium-browser >/dev/null || \
		command -v google-chrome >/dev/null; then exit 0; fi; \
	echo "installing chromium (apt-get)"; \
	SUDO=; if [ "$$(id -u)" != 0 ]; then SUDO=$$(command -v sudo) || { echo "chromium missing and not root (apt-get install chromium): the browser test will skip"; exit 0; }; fi; \
	$$SUDO sh -ec 'apt-get update -qq; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null' || \
		echo "chromium could not be installed: the browser test will skip"

vet: ## go vet
	$(GO) vet ./...

fmt: ## gofmt every file
	gofmt -w $$(git ls-files '*.go')

check: vet ## quick checks: vet, gofmt, and what plugins may import (tests/imports_test.go)
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || { echo "gofmt needed:"; gofmt -l .; exit 1; }
	$(GO) test -count=1 -run '^(TestPluginImports|TestImportRulesCatchTheEngine)$$' ./tests/

# go test -fuzz takes one target per run: each runs for FUZZTIME, one after
# the other. New failing inputs are written to the package's
# testdata/fuzz/FuzzX/, where `make test` runs them from then on.
FUZZTIME ?= 30s
FUZZFLAGS ?= -fuzzminimizetime 10s
fuzz: ## run every fuzz target for FUZZTIME each (default 30s; FUZZFLAGS='-parallel 1' on a shared machine)
	$(call fuzz,FuzzPathNormalization,./core/gateway)
	$(call fuzz,FuzzRouter,./core/router)
	$(call fuzz,FuzzParse,./core/config)
	$(call fuzz,FuzzCacheControl,./plugins/cache)
	$(call fuzz,FuzzDeltaSeconds,./plugins/cache)
	$(call fuzz,FuzzHTTPDate,./plugins/cache)
	$(call fuzz,FuzzJWT,./plugins/jwt)
	$(call fuzz,FuzzJWTFlip,./plugins/jwt)
	$(call fuzz,FuzzSessionCookie,./plugins/session)
	$(call fuzz,FuzzSessionFlip,./plugins/session)
	$(call fuzz,FuzzSessionContents,./plugins/session)
	$(call fuzz,FuzzJSONDecode,./sdk)
	$(call fuzz,FuzzJSONEncode,./sdk)
	$(call fuzz,FuzzPatternMatchesGopherLua,./plugins/lua)
	$(call fuzz,FuzzReader,./plugins/aiproxy/sse)
	$(call fuzz,FuzzValid,./plugins/aiproxy/internal/rawjson)
	$(call fuzz,FuzzRequestToAnthropic,./plugins/aiproxy/translate)
	$(call fuzz,FuzzRequestToOpenAI,./plugins/aiproxy/translate)
	$(call fuzz,FuzzStreamToOpenAI,./plugins/aiproxy/translate)
	$(call fuzz,FuzzStreamToAnthropic,./plugins/aiproxy/translate)
	$(call fuzz,FuzzAppendJSON,./core/accesslog)
	$(call fuzz,FuzzAppendRedactedQuery,./core/accesslog)
	$(call fuzz,FuzzCompile,./core/template)
	$(call fuzz,FuzzApply,./core/jsonedit)
	$(call fuzz,FuzzNegotiate,./core/compress)
	$(call fuzz,FuzzHasToken,./core/httpbytes)
	$(call fuzz,FuzzQuote,./core/jsonstr)
	$(call fuzz,FuzzParseTraceparent,./core/tracecontext)
	$(call fuzz,FuzzAppendTracestate,./core/tracecontext)

# fuzz runs target $(1) of package $(2):
#   go test -run '^$' -fuzz '^$(1)$' -fuzztime $(FUZZTIME) $(FUZZFLAGS) $(2)
# Go 1.26's fuzz coordinator can end a clean run at FUZZTIME with a bare
# "context deadline exceeded" and no failing input (go.dev/issue/75804,
# fixed in Go 1.27; a count such as FUZZTIME=500000x avoids it): such a
# run is reported and passes. Any other failure fails.
define fuzz
	@echo "== $(1) ($(2))"; log=$$(mktemp); \
	$(GO) test -run '^$$' -fuzz '^$(1)$$' -fuzztime $(FUZZTIME) $(FUZZFLAGS) $(2) >$$log 2>&1; st=$$?; \
	if [ $$st -eq 0 ]; then tail -n 3 $$log; rm -f $$log; \
	elif ! grep -q 'Failing input written' $$log && grep -q '^    context deadline exceeded$$' $$log; then \
		tail -n 6 $$log; echo "   (go.dev/issue/75804: no failing input, counted as passed)"; rm -f $$log; \
	else cat $$log; rm -f $$log; exit 1; fi
endef

BENCH ?= .
COUNT ?= 1
bench: ## Go micro-benchmarks of the request path, ns/op B/op allocs/op (BENCH=regexp COUNT=6 for benchstat)
	$(GO) test -run '^$$' -bench '$(BENCH)' -benchmem -count $(COUNT) ./...

# How cost grows with the work (bench/RESULTS.md, issue 17): the scaling
# benchmarks only, one package at a time (-p 1), each -count SCALE_COUNT.
# LARGE=1 adds the cases that need gigabytes (10 000 000 cache entries,
# ~2.5 GB per count; 1 000 000 consumers, ~2 GB): never run by make test.
SCALE_COUNT ?= 3
SCALE_BENCH := BenchmarkMatchScale|BenchmarkMockRoutes|BenchmarkPickScale|BenchmarkCacheHitScale|BenchmarkPurgeScale|BenchmarkCacheHitDuringPurges|BenchmarkKeyAuthConsumers
bench-scale: ## how cost grows with routes, targets, cache entries, purges, API keys (Go benchmarks; SCALE_COUNT=3; LARGE=1 adds the multi-GB cases)
	$(if $(LARGE),MOONGATE_BENCH_LARGE=1 )$(GO) test -p 1 -run '^$$' -bench '$(SCALE_BENCH)' -benchmem -benchtime 200ms -count $(SCALE_COUNT) \
		./core/router ./core/gateway ./core/upstream ./plugins/cache ./plugins/keyauth

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

SCALE ?= routes,body,conns
SCALE_ROUNDS ?= 3
bench-scale-e2e: ## how cost grows with routes, body size and connections, end to end: a markdown table (SCALE=routes,body,conns SCALE_ROUNDS=3 DURATION=5s; ~8 minutes)
	BENCH_TIMEOUT_MIN=12 bench/compare.sh --scale $(SCALE) --rounds $(SCALE_ROUNDS) --duration $(if $(filter command line,$(origin DURATION)),$(DURATION),5s) --layout $(LAYOUT) \
		--command "make bench-scale-e2e SCALE=$(SCALE) SCALE_ROUNDS=$(SCALE_ROUNDS)$(if $(filter command line,$(origin DURATION)), DURATION=$(DURATION)) LAYOUT=$(LAYOUT)" $(BENCH_FLAGS)

clean: ## remove build output
	rm -rf bin
