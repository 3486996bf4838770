# The index of degreegate's commands; `make help` lists them.
# Every target is a thin wrapper: the commands it runs work without make.

GO        ?= go
BIN       ?= bin/degreegate
IMAGE     ?= degreegate:dev
BENCHTIME ?= 1s
FUZZTIME  ?= 30s
PKGS      ?= ./...
# Extra arguments for `make run`, e.g. make run ARGS='--state-dir /tmp/dg'.
ARGS      ?=

# Go lives in /usr/local/go on the project's machines; a go already on PATH wins.
export PATH := $(PATH):/usr/local/go/bin

.DEFAULT_GOAL := help
.PHONY: help run build test bench fuzz lint services image clean

help: ## list the targets
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-9s %s\n", $$1, $$2}'

run: ## the gateway in dev mode: embedded store, synthetic records, demo tokens
	$(GO) run ./cmd/degreegate dev $(ARGS)

build: ## a static binary in ./bin/degreegate
	CGO_ENABLED=0 $(GO) build -trimpath -o $(BIN) ./cmd/degreegate

test: ## the whole suite against real PostgreSQL and Redis (scripts/test.sh)
	bash scripts/test.sh

bench: ## benchmarks, BENCHTIME=1s (no tests)
	$(GO) test -run '^$$' -bench . -benchmem -benchtime $(BENCHTIME) $(PKGS)

# go test -fuzz takes one package and one target at a time, so every Fuzz*
# function is found with `go test -list` and run in turn. Crashers land in
# the package's testdata/fuzz/ and stay there as regression inputs.
fuzz: ## run every Fuzz* target for FUZZTIME=30s each
	@set -eu; \
	for pkg in $$($(GO) list $(PKGS)); do \
		list=$$($(GO) test -list 'Fuzz.*' "$$pkg"); \
		for fz in $$(printf '%s\n' "$$list" | grep '^Fuzz' || true); do \
			echo "== $$pkg $$fz for $(FUZZTIME)"; \
			$(GO) test -run '^$$' -fuzz "^$$fz\$$" -fuzztime $(FUZZTIME) "$$pkg"; \
		done; \
	done

lint: ## gofmt, go vet, and golangci-lint (.golangci.yml) when installed
	@out=$$(find . \( -name testdata -o -name vendor -o -name '.?*' \) -prune -o -name '*.go' -print0 | xargs -0 -r gofmt -l); \
	if [ -n "$$out" ]; then echo "gofmt -w needed:"; echo "$$out" | sed 's/^/  /'; exit 1; fi
	$(GO) vet $(PKGS)
	@if command -v golangci-lint >/dev/null 2>&1; then golangci-lint run $(PKGS); \
	else echo "golangci-lint not installed: skipped (gofmt and go vet passed)"; fi

services: ## start (or install) the PostgreSQL and Redis the tests use
	bash scripts/services.sh

image: ## the container image (needs a Docker engine)
	docker build -f deploy/Dockerfile -t $(IMAGE) .

clean: ## remove build output
	rm -rf bin/ coverage.out cpu.out mem.out *.test
