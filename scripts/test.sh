#!/usr/bin/env bash
# test.sh — the whole degreegate test suite in one command:
#
#   scripts/test.sh [go test arguments]     (default: ./...)
#
# 1. makes sure PostgreSQL and Redis answer (scripts/services.sh starts or
#    installs them from Debian's packages when they don't) and exports
#    DEGREEGATE_TEST_DATABASE_URL and DEGREEGATE_TEST_REDIS_URL, so the
#    integration tests run against real servers — they are never skipped;
# 2. checks gofmt and go vet over the whole module;
# 3. runs go test -race -count=1 -timeout 20m -p 2.
#
# Works from any directory, as root on a fresh Debian machine and in CI
# (CI=true, no stdin). Exits with go test's status, or 1 when only gofmt or
# go vet failed, or when a service cannot be reached.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

log() { printf 'test.sh: %s\n' "$*" >&2; }
die() {
	printf 'test.sh: ERROR: %s\n' "$*" >&2
	exit 1
}

# Go: the project's machines keep it in /usr/local/go, not always on PATH.
if ! command -v go >/dev/null 2>&1; then
	export PATH="/usr/local/go/bin:$PATH"
fi
command -v go >/dev/null 2>&1 || die "Go not found (need Go 1.26: install it to /usr/local/go)"
log "$(go version)"

# shellcheck source=scripts/services.sh
source scripts/services.sh
ensure_services || die "the test services are not available (see above)"

# The race detector needs cgo and so a C compiler.
export CGO_ENABLED=1
cc=$(go env CC)
if ! command -v "${cc%% *}" >/dev/null 2>&1; then
	svc_apt_install gcc libc6-dev || die "no C compiler for -race and none could be installed"
fi

# The browser end-to-end test drives Debian's Chromium; CJK fonts make its
# screenshots readable and zbarimg decodes the page's QR codes. Without
# chromium that one test skips, so install it where we can.
if ! command -v chromium >/dev/null 2>&1; then
	log "installing chromium for the browser test"
	svc_apt_install chromium fonts-noto-cjk zbar-tools || log "chromium could not be installed: the browser test will skip"
fi

# TestDevExamplesWork runs dev's printed examples with curl and jq; the
# log's proofs are checked by an independent implementation in Python;
# the IPv6 limits test routes a private prefix to the loopback with ip.
for tool in curl jq python3 ip; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		pkg=$tool
		[[ $tool == ip ]] && pkg=iproute2 # TestPublicLimitsGroupIPv6By64 routes a test prefix
		svc_apt_install "$pkg" || die "$pkg is needed by the tests and could not be installed"
	fi
done

status=0

log "gofmt"
# testdata holds inputs, not our code; .git and hidden folders are not ours.
# gofmt also fails (after printing why) on a file that does not parse.
if ! unformatted=$(find . \( -name testdata -o -name vendor -o -name '.?*' \) -prune -o \
	-name '*.go' -print0 | xargs -0 -r gofmt -l); then
	log "gofmt could not read every file"
	status=1
fi
if [[ -n $unformatted ]]; then
	log "these files need gofmt -w:"
	# shellcheck disable=SC2001 # indenting a list is sed's job
	sed 's/^/  /' <<<"$unformatted" >&2
	status=1
fi

log "go vet ./..."
if ! go vet ./...; then
	log "go vet found problems"
	status=1
fi

if (($# == 0)); then
	set -- ./...
fi
log "go test -race -count=1 -timeout 20m -p 2 $*"
test_status=0
go test -race -count=1 -timeout 20m -p 2 "$@" || test_status=$?

if ((test_status != 0)); then
	log "FAILED: go test exited $test_status"
	exit "$test_status"
fi
if ((status != 0)); then
	log "FAILED: go test passed, but gofmt or go vet did not"
	exit "$status"
fi
log "all checks passed"
