# hookgate — `make run` to try it, `make test` to check it.

# Go lives in /usr/local/go/bin on the project machines.
export PATH := /usr/local/go/bin:$(PATH)
GO        ?= go
BIN       := bin/hookgate
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -X main.version=$(VERSION)
# staticcheck version from the module proxy (see `make lint`).
STATICCHECK_VERSION ?= v0.8.2

# Development secrets for `make run` only; anything already exported wins.
HOOKGATE_OKTA_SECRET ?= dev-okta-secret
HOOKGATE_HOOK_SECRET ?= dev-hook-secret
HOOKGATE_ADMIN_TOKEN ?= dev-admin-token
export HOOKGATE_OKTA_SECRET HOOKGATE_HOOK_SECRET HOOKGATE_ADMIN_TOKEN
# Secret the zendesk-license example reads from its config ("${ZENDESK_API_TOKEN}").
ZENDESK_API_TOKEN ?= dev-zendesk-token
export ZENDESK_API_TOKEN

# Example plugins: examples/<name>/ -> build/plugins/<name>.wasm, rebuilt
# when the example's or the SDK's sources change.
EXAMPLE_DIRS := $(patsubst %/main.go,%,$(wildcard examples/*/main.go))
PLUGIN_WASM  := $(patsubst examples/%,build/plugins/%.wasm,$(EXAMPLE_DIRS))

# AssemblyScript examples: examples/as-<name>/assembly/index.ts ->
# build/plugins/as-<name>.wasm, compiled with the SDK's pinned compiler
# (sdk/assemblyscript/package-lock.json; `npm ci` once, offline afterwards
# from npm's cache). Without npm the checked-in builds
# (examples/as-<name>/as-<name>.wasm, kept in sync by a test) are copied.
NPM          := $(shell command -v npm 2>/dev/null)
AS_SDK       := sdk/assemblyscript
ASC          := $(AS_SDK)/node_modules/.bin/asc
AS_STAMP     := $(AS_SDK)/node_modules/.hookgate-installed
AS_FLAGS     := -O3 --use abort=$(AS_SDK)/assembly/abort/abort
AS_EXAMPLES  := $(patsubst %/assembly/index.ts,%,$(wildcard examples/*/assembly/index.ts))
AS_WASM      := $(patsubst examples/%,build/plugins/%.wasm,$(AS_EXAMPLES))

.PHONY: all build plugins as-plugins as-test run test fuzz bench fmt lint clean

all: build

## build: the hookgate binary (bin/hookgate) and the example plugins
build: plugins
	$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/hookgate

## plugins: the example WASM plugins (build/plugins/<name>.wasm), Go and AssemblyScript
plugins: $(PLUGIN_WASM) as-plugins

## as-plugins: the AssemblyScript examples (needs npm; else the checked-in builds)
ifneq ($(NPM),)
as-plugins: $(AS_WASM)

$(AS_STAMP): $(AS_SDK)/package.json $(AS_SDK)/package-lock.json
	cd $(AS_SDK) && npm ci --prefer-offline --no-audit --no-fund
	@touch $@

build/plugins/as-%.wasm: examples/as-%/assembly/index.ts $(wildcard $(AS_SDK)/assembly/*.ts) $(AS_STAMP)
	@mkdir -p $(@D)
	$(ASC) $< -o $@ $(AS_FLAGS)

## as-test: the AssemblyScript SDK's own tests (golden flat vectors, JSON)
as-test: $(AS_STAMP)
	cd $(AS_SDK) && npm test
else
as-plugins:
	@echo "npm not found: AssemblyScript examples copied from their checked-in builds (install npm to build them from source)"
	@mkdir -p build/plugins
	@for d in $(AS_EXAMPLES); do n=$$(basename $$d); cp $$d/$$n.wasm build/plugins/$$n.wasm; done

as-test:
	@echo "npm not found: AssemblyScript SDK tests skipped (.ci/run installs npm)"
endif

.SECONDEXPANSION:
build/plugins/%.wasm: $$(wildcard examples/$$*/*.go) $(wildcard sdk/*.go) go.mod
	@mkdir -p $(@D)
	GOOS=wasip1 GOARCH=wasm $(GO) build -buildmode=c-shared -o $@ ./examples/$*

## run: build, then serve gateway.toml on ./data with dev secrets (printed)
run: build
	@echo "dev secrets (export your own to override):"
	@echo "  export HOOKGATE_OKTA_SECRET='$(HOOKGATE_OKTA_SECRET)'"
	@echo "  export HOOKGATE_HOOK_SECRET='$(HOOKGATE_HOOK_SECRET)'"
	@echo "  export HOOKGATE_ADMIN_TOKEN='$(HOOKGATE_ADMIN_TOKEN)'"
	@echo "try: curl -s -H 'Authorization: Bearer $(HOOKGATE_ADMIN_TOKEN)' localhost:8080/v1/users"
	./$(BIN) serve --config gateway.toml --data ./data

## test: lint (gofmt, vet, staticcheck), every test, and a short fuzz run of the Okta envelope parser
test: lint as-test as-plugins
	$(GO) test -timeout 15m ./...
	@$(MAKE) --no-print-directory fuzz

## fuzz: brief fuzz runs of the Okta envelope parser, of the wasm
## instrumenter (plugins/internal/interrupt) against wazero's validator and
## of the fast hook-request parser against encoding/json. The other fuzz
## targets run their seed corpora in `go test`.
## Minimization is capped: with the default 60 s per new input the 2 workers
## of a 2-core machine minimize the multi-KB fixture seeds for the whole run
## and fuzz nothing (0 execs/s after ~3 s).
fuzz:
	@if grep -qs 'func FuzzParseEnvelope' gateway/okta/*_test.go; then \
		echo "$(GO) test -run=^\$$ -fuzz=FuzzParseEnvelope -fuzztime=10s -fuzzminimizetime=100x ./gateway/okta"; \
		$(GO) test -run='^$$' -fuzz=FuzzParseEnvelope -fuzztime=10s -fuzzminimizetime=100x ./gateway/okta; \
	else echo "fuzz: no FuzzParseEnvelope yet, skipped"; fi
	$(GO) test -run='^$$' -fuzz='^FuzzInstrumentBody$$' -fuzztime=10s -fuzzminimizetime=100x ./plugins/internal/interrupt
	$(GO) test -run='^$$' -fuzz='^FuzzParseHookFast$$' -fuzztime=10s -fuzzminimizetime=100x ./gateway/hook

## bench: HTTP ingest vs raw Badger synced commits (events/s, p50/p99, ratio);
## inline hooks through the gateway vs external endpoints; the gateway's own
## hook overhead (in-process Decider) vs raw fasthttp (BenchmarkHookOverhead,
## matched by -bench=.); warm plugin calls beside their native Go baseline
## (x-baseline), and with encryption at rest on vs off; Okta sync with and
## without full profiles; ingest with encryption on vs off; the cluster
## (real processes): ingest on 3 nodes vs one node vs raw Badger, failover
## time and acked events lost over 5 kills, cold and warm start-up
## (BenchmarkCluster); plugin HTTP with the address checks vs fasthttp's
## own dialer (BenchmarkPluginHTTP) and kv writes with the per-plugin quota
## vs without (BenchmarkKVSetQuota); a store applying Okta deliveries as one
## node (synced and not) and as a cluster node (log entries, runs of 16),
## with the decode alone (BenchmarkApplyIngest)
bench:
	$(GO) test -v -run='^$$' -bench=. -benchtime=1x -timeout 20m ./gateway/ ./gateway/hook/
	$(GO) test -v -run='^$$' -bench='^Benchmark(WarmCall|HostCall|PluginHTTP)' -timeout 10m ./plugins/
	$(GO) test -v -run='^$$' -bench='^BenchmarkKVSetQuota$$' -benchtime=5x -timeout 5m ./store/
	$(GO) test -v -run='^$$' -bench='^BenchmarkApplyIngest$$' -benchtime=2000x -benchmem -timeout 5m ./store/
	$(GO) test -v -run='^$$' -bench='^Benchmark(SyncProfiles|IngestEncryption)$$' -benchtime=1x -timeout 10m ./gateway/okta/
	$(GO) test -v -run='^$$' -bench='^BenchmarkCluster$$' -benchtime=1x -timeout 20m ./cmd/hookgate/

## fmt: gofmt every Go file in place
fmt:
	gofmt -w $$(git ls-files '*.go')

## lint: gofmt check, go vet, staticcheck (fetched through the Go module proxy)
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) ./...

clean:
	rm -rf bin build $(AS_SDK)/node_modules
