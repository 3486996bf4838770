#!/usr/bin/env bash
# services.sh — make sure the PostgreSQL and Redis that the integration tests
# talk to are answering, starting them or installing them from Debian's
# packages when they are not, and set the two variables the Go tests read:
#
#   DEGREEGATE_TEST_DATABASE_URL   postgres://root@127.0.0.1:5432/test?sslmode=disable
#   DEGREEGATE_TEST_REDIS_URL      redis://127.0.0.1:6379/0
#
# scripts/test.sh sources this file and calls ensure_services. Run on its own
# it does the same and prints the two export lines, for your shell:
#
#   eval "$(scripts/services.sh)"
#
# A URL that is already set is used as given: nothing is started or installed
# for it, it is only checked when psql / redis-cli are there to check it.
#
# Overrides (defaults in brackets), mainly for machines with unusual ports and
# for testing this script's failure path against a closed port:
#   DEGREEGATE_PG_HOST [127.0.0.1]     DEGREEGATE_PG_PORT [5432]
#   DEGREEGATE_PG_USER [current user]  DEGREEGATE_PG_DB [test]
#   DEGREEGATE_PG_WAIT [30] seconds    DEGREEGATE_REDIS_WAIT [15] seconds
#   DEGREEGATE_REDIS_HOST [127.0.0.1]  DEGREEGATE_REDIS_PORT [6379]
#
# Connecting to PostgreSQL: TCP to 127.0.0.1 is tried first (it works where
# pg_hba trusts local TCP, as on the project's machines). Debian's stock
# pg_hba asks for a password over TCP but trusts the Unix socket for a role
# named like the OS user ("peer"), so a freshly installed server is reached
# through /var/run/postgresql instead; pg_hba.conf is never edited.
#
# Messages go to stderr; no password is ever printed.

svc_log() { printf 'services: %s\n' "$*" >&2; }
svc_die() {
	printf 'services: ERROR: %s\n' "$*" >&2
	return 1
}
svc_have() { command -v "$1" >/dev/null 2>&1; }

# svc_redact hides the password of a URL's user info, if it has one.
svc_redact() { sed -E 's#(://[^:/@]*):[^@/]*@#\1:***@#' <<<"$1"; }

# svc_can_root reports whether svc_as_root can work without a password.
svc_can_root() { [[ $EUID -eq 0 ]] || { svc_have sudo && sudo -n true 2>/dev/null; }; }

# svc_as_root runs a command as root: directly when we are root, through
# non-interactive sudo otherwise (CI has no stdin to type a password into).
svc_as_root() {
	if [[ $EUID -eq 0 ]]; then
		"$@"
	elif svc_have sudo; then
		sudo -n "$@"
	else
		svc_die "need root to run '$1' (not root and no sudo); install PostgreSQL and Redis yourself or run as root"
	fi
}

# svc_as_postgres runs a command as the postgres OS user, the superuser that
# Debian's peer authentication lets in through the socket.
svc_as_postgres() {
	if [[ $EUID -eq 0 ]]; then
		runuser -u postgres -- "$@"
	elif svc_have sudo; then
		sudo -n -u postgres -- "$@"
	else
		return 1
	fi
}

# svc_apt_install installs Debian packages; the package lists are refreshed
# once per run.
svc_apt_install() {
	svc_have apt-get || svc_die "apt-get not found: install $* by hand" || return 1
	if [[ -z ${SVC_APT_UPDATED:-} ]]; then
		svc_log "apt-get update"
		svc_as_root apt-get update -q >&2 || svc_die "apt-get update failed" || return 1
		SVC_APT_UPDATED=1
	fi
	svc_log "installing $* from Debian's packages"
	svc_as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@" >&2 ||
		svc_die "apt-get install $* failed"
}

# svc_tcp_open reports whether something accepts TCP connections on host:port.
# (Host and port reach the inner bash as $1 and $2, hence single quotes.)
# shellcheck disable=SC2016
svc_tcp_open() { timeout 2 bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$1" "$2" 2>/dev/null; }

# svc_wait polls a check until it succeeds or the seconds run out.
svc_wait() {
	local seconds=$1
	shift
	local deadline=$((SECONDS + seconds))
	until "$@"; do
		((SECONDS < deadline)) || return 1
		sleep 1
	done
}

# ---- PostgreSQL ----------------------------------------------------------

svc_pg_answers() {
	if svc_have pg_isready; then
		pg_isready -q -t 2 -h "$PG_HOST" -p "$PG_PORT"
	else
		svc_tcp_open "$PG_HOST" "$PG_PORT"
	fi
}

# svc_pg_version is the newest PostgreSQL major version configured here.
svc_pg_version() {
	find /etc/postgresql -mindepth 1 -maxdepth 1 -type d -printf '%f\n' 2>/dev/null | sort -V | tail -n 1
}

svc_pg_start() {
	local ver
	ver=$(svc_pg_version)
	[[ -n $ver ]] || svc_die "PostgreSQL is installed but /etc/postgresql holds no cluster" || return 1
	svc_can_root || svc_die "PostgreSQL is stopped and starting it needs root (not root, no password-less sudo)" || return 1
	if [[ ! -d /etc/postgresql/$ver/main ]]; then
		svc_log "creating PostgreSQL $ver cluster 'main'"
		svc_as_root pg_createcluster "$ver" main >&2 || return 1
	fi
	# Without systemd nobody creates the socket directory at boot.
	if [[ ! -d /var/run/postgresql ]]; then
		svc_as_root install -d -o postgres -g postgres -m 2775 /var/run/postgresql || true
	fi
	svc_log "starting PostgreSQL $ver cluster 'main'"
	# A cluster that is already running (on another port than the one probed)
	# makes this fail; the readiness wait below then says what is wrong.
	svc_as_root pg_ctlcluster --skip-systemctl-redirect "$ver" main start >&2 ||
		svc_log "pg_ctlcluster start did not succeed; waiting for $PG_HOST:$PG_PORT anyway"
}

# svc_pg_connects reports whether psql can log in with a URL; -w: never
# stop to ask for a password.
svc_pg_connects() { psql "$1" -w -X -A -t -q -c 'SELECT 1' >/dev/null 2>&1; }

# svc_pg_provision creates the test role (a superuser, so tests may create
# schemas and extensions) and the test database, through the socket as the
# postgres OS user. It changes nothing that already exists.
svc_pg_provision() {
	local sock=(-h /var/run/postgresql -p "$PG_PORT")
	svc_as_postgres psql "${sock[@]}" -w -X -A -t -q -c 'SELECT 1' >/dev/null 2>&1 || return 1
	# Names go in as psql variables (:'name' quotes them); psql expands
	# variables only in what it reads, not in -c, hence the here-strings.
	if [[ $(svc_as_postgres psql "${sock[@]}" -w -X -A -t -q -v name="$PG_USER" \
		<<<"SELECT 1 FROM pg_roles WHERE rolname = :'name'" 2>/dev/null) != 1 ]]; then
		svc_log "creating PostgreSQL superuser role for the tests"
		svc_as_postgres createuser "${sock[@]}" -s "$PG_USER" >&2 || return 1
	fi
	if [[ $(svc_as_postgres psql "${sock[@]}" -w -X -A -t -q -v name="$PG_DB" \
		<<<"SELECT 1 FROM pg_database WHERE datname = :'name'" 2>/dev/null) != 1 ]]; then
		svc_log "creating PostgreSQL database '$PG_DB'"
		svc_as_postgres createdb "${sock[@]}" -O "$PG_USER" "$PG_DB" >&2 || return 1
	fi
}

ensure_postgres() {
	PG_HOST=${DEGREEGATE_PG_HOST:-127.0.0.1}
	PG_PORT=${DEGREEGATE_PG_PORT:-5432}
	PG_USER=${DEGREEGATE_PG_USER:-$(id -un)}
	PG_DB=${DEGREEGATE_PG_DB:-test}
	local wait=${DEGREEGATE_PG_WAIT:-30}

	if [[ -n ${DEGREEGATE_TEST_DATABASE_URL:-} ]]; then
		svc_log "PostgreSQL: using the given DEGREEGATE_TEST_DATABASE_URL ($(svc_redact "$DEGREEGATE_TEST_DATABASE_URL"))"
		if svc_have psql && ! svc_pg_connects "$DEGREEGATE_TEST_DATABASE_URL"; then
			svc_die "PostgreSQL: cannot connect with DEGREEGATE_TEST_DATABASE_URL" || return 1
		fi
		export DEGREEGATE_TEST_DATABASE_URL
		return 0
	fi

	if svc_pg_answers; then
		svc_log "PostgreSQL: answering on $PG_HOST:$PG_PORT"
	else
		if ! svc_have pg_ctlcluster || [[ -z $(svc_pg_version) ]]; then
			svc_apt_install postgresql || return 1
		fi
		# The package's own start may already have brought it up.
		svc_pg_answers || svc_pg_start || return 1
		svc_log "PostgreSQL: waiting up to ${wait}s for $PG_HOST:$PG_PORT"
		svc_wait "$wait" svc_pg_answers ||
			svc_die "PostgreSQL is not answering on $PG_HOST:$PG_PORT after ${wait}s; see /var/log/postgresql/ (the tests need it: they are never skipped)" ||
			return 1
		svc_log "PostgreSQL: ready on $PG_HOST:$PG_PORT"
	fi

	local tcp_url="postgres://$PG_USER@$PG_HOST:$PG_PORT/$PG_DB?sslmode=disable"
	local sock_url="postgres://$PG_USER@/$PG_DB?host=/var/run/postgresql&port=$PG_PORT&sslmode=disable"
	if ! svc_have psql; then
		# Nothing to check or provision with: the Go tests will tell.
		DEGREEGATE_TEST_DATABASE_URL=$tcp_url
	elif svc_pg_connects "$tcp_url"; then
		DEGREEGATE_TEST_DATABASE_URL=$tcp_url
	else
		svc_pg_provision || svc_log "PostgreSQL: could not provision role/database as the postgres user"
		if svc_pg_connects "$tcp_url"; then
			DEGREEGATE_TEST_DATABASE_URL=$tcp_url
		elif svc_pg_connects "$sock_url"; then
			svc_log "PostgreSQL: TCP login needs a password here; using the Unix socket"
			DEGREEGATE_TEST_DATABASE_URL=$sock_url
		else
			svc_die "PostgreSQL answers on $PG_HOST:$PG_PORT but role '$PG_USER' cannot open database '$PG_DB' over TCP or the socket; create them or set DEGREEGATE_TEST_DATABASE_URL" ||
				return 1
		fi
	fi
	export DEGREEGATE_TEST_DATABASE_URL
	svc_log "PostgreSQL: DEGREEGATE_TEST_DATABASE_URL=$(svc_redact "$DEGREEGATE_TEST_DATABASE_URL")"
}

# ---- Redis ---------------------------------------------------------------

svc_redis_answers() {
	if svc_have redis-cli; then
		[[ $(timeout 3 redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" ping 2>/dev/null) == PONG ]]
	else
		# RESP inline command over bash's /dev/tcp; the reply is "+PONG\r\n".
		# shellcheck disable=SC2016
		timeout 3 bash -c 'exec 3<>"/dev/tcp/$1/$2" && printf "PING\r\n" >&3 && IFS= read -r line <&3 && [[ $line == +PONG* ]]' \
			_ "$REDIS_HOST" "$REDIS_PORT" 2>/dev/null
	fi
}

ensure_redis() {
	REDIS_HOST=${DEGREEGATE_REDIS_HOST:-127.0.0.1}
	REDIS_PORT=${DEGREEGATE_REDIS_PORT:-6379}
	local wait=${DEGREEGATE_REDIS_WAIT:-15}

	if [[ -n ${DEGREEGATE_TEST_REDIS_URL:-} ]]; then
		svc_log "Redis: using the given DEGREEGATE_TEST_REDIS_URL ($(svc_redact "$DEGREEGATE_TEST_REDIS_URL"))"
		if svc_have redis-cli && [[ $(timeout 3 redis-cli -u "$DEGREEGATE_TEST_REDIS_URL" ping 2>/dev/null) != PONG ]]; then
			svc_die "Redis: no PONG from DEGREEGATE_TEST_REDIS_URL" || return 1
		fi
		export DEGREEGATE_TEST_REDIS_URL
		return 0
	fi

	if svc_redis_answers; then
		svc_log "Redis: answering on $REDIS_HOST:$REDIS_PORT"
	else
		svc_have redis-server || svc_apt_install redis-server || return 1
		if ! svc_redis_answers; then
			svc_log "Redis: starting redis-server on $REDIS_HOST:$REDIS_PORT (no persistence)"
			# --dir: keep redis's working files out of the repository.
			redis-server --daemonize yes --bind "$REDIS_HOST" --port "$REDIS_PORT" \
				--save "" --appendonly no --dir "${TMPDIR:-/tmp}" >&2 ||
				svc_log "redis-server did not start; waiting for $REDIS_HOST:$REDIS_PORT anyway"
		fi
		svc_log "Redis: waiting up to ${wait}s for $REDIS_HOST:$REDIS_PORT"
		svc_wait "$wait" svc_redis_answers ||
			svc_die "Redis is not answering PING on $REDIS_HOST:$REDIS_PORT after ${wait}s (the tests need it: they are never skipped)" ||
			return 1
		svc_log "Redis: ready on $REDIS_HOST:$REDIS_PORT"
	fi
	export DEGREEGATE_TEST_REDIS_URL="redis://$REDIS_HOST:$REDIS_PORT/0"
	svc_log "Redis: DEGREEGATE_TEST_REDIS_URL=$DEGREEGATE_TEST_REDIS_URL"
}

ensure_services() {
	ensure_postgres && ensure_redis
}

# Run directly (not sourced): set up both and print the exports.
if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
	set -euo pipefail
	ensure_services
	printf 'export DEGREEGATE_TEST_DATABASE_URL=%q\n' "$DEGREEGATE_TEST_DATABASE_URL"
	printf 'export DEGREEGATE_TEST_REDIS_URL=%q\n' "$DEGREEGATE_TEST_REDIS_URL"
fi
