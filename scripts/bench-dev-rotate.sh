#!/usr/bin/env bash
# bench-dev-rotate.sh — public verification on `degreegate dev --unlimited`
# for several builds side by side, to tell whether a change costs speed:
#
#   scripts/bench-dev-rotate.sh [-d SECS] [--rounds R] REV...
#
# Each REV (a git revision, or "." for the working tree) is built and run
# as its own dev; every round loads each in turn with the same wrk script
# as bench-gateway.sh's A, the order rotating from round to round so that
# no build always runs first or right after another. It prints, per
# build, the mean and every round's req/s and the server's CPU per request
# (user + system time from /proc, so the load generator's share of the
# machine does not count). On this shared 2-core machine single rounds
# move by ±15 %: compare builds within one run, over several rounds.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PATH="/usr/local/go/bin:$PATH"

DUR=6 ROUNDS=6 PORT=19400
revs=()
while (($#)); do
	case $1 in
	-d) DUR=$2; shift 2 ;;
	--rounds) ROUNDS=$2; shift 2 ;;
	-*) echo "usage: $0 [-d SECS] [--rounds R] REV..." >&2; exit 2 ;;
	*) revs+=("$1"); shift ;;
	esac
done
((${#revs[@]} >= 2)) || { echo "usage: $0 [-d SECS] [--rounds R] REV... (two or more)" >&2; exit 2; }
command -v wrk >/dev/null || { echo "needs wrk (apt-get install wrk)" >&2; exit 1; }

work=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	git worktree prune
	rm -rf "$work"
}
trap cleanup EXIT

names=()
for i in "${!revs[@]}"; do
	rev=${revs[$i]} bin="$work/dg$i"
	if [[ $rev == . ]]; then
		CGO_ENABLED=0 go build -trimpath -o "$bin" ./cmd/degreegate
	else
		git worktree add -q --detach "$work/src$i" "$rev"
		(cd "$work/src$i" && CGO_ENABLED=0 go build -trimpath -o "$bin" ./cmd/degreegate)
		git worktree remove --force "$work/src$i"
	fi
	names+=("$rev")
done

"$work/dg0" gen --records 20000 --seed 1 --format jsonl --out "$work/dev.jsonl" 2>/dev/null
sed -E 's/^\{"kind":"[a-z]+","name":"([^"]*)".*"certificate_number":"([^"]*)".*/\2\t\1/' "$work/dev.jsonl" >"$work/samples.tsv"
cp scripts/wrk/verify.lua "$work/verify.lua"

for i in "${!names[@]}"; do
	"$work/dg$i" dev --unlimited --records 20000 --seed 1 --addr "127.0.0.1:$((PORT + i))" >"$work/dev$i.log" 2>&1 &
	pids+=($!)
done
for i in "${!names[@]}"; do
	for _ in $(seq 1 300); do grep -qs 'listening on' "$work/dev$i.log" && break; sleep 0.1; done
	grep -qs 'listening on' "$work/dev$i.log" || { echo "build ${names[$i]} did not start:" >&2; cat "$work/dev$i.log" >&2; exit 1; }
done

cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; } # clock ticks
hz=$(getconf CLK_TCK)
n=${#names[@]}
for r in $(seq 0 $((ROUNDS - 1))); do
	for k in $(seq 0 $((n - 1))); do
		i=$(((r + k) % n))
		c0=$(cpu "${pids[$i]}")
		out=$(wrk -t2 -c64 -d"${DUR}s" -s "$work/verify.lua" "http://127.0.0.1:$((PORT + i))/v1/verify" -- "$work/samples.tsv")
		c1=$(cpu "${pids[$i]}")
		reqs=$(awk '/requests in/ {print $1}' <<<"$out")
		rps=$(awk '/Requests\/sec/ {print int($2)}' <<<"$out")
		printf '%s %s %s\n' "$i" "$rps" "$(awk -v c=$((c1 - c0)) -v n="$reqs" -v hz="$hz" 'BEGIN {printf "%.1f", c * 1e6 / hz / n}')"
	done
done | awk -v names="${names[*]}" 'BEGIN {split(names, nm, " ")}
	{rps[$1] += $2; cpu[$1] += $3; k[$1]++; runs[$1] = runs[$1] " " $2}
	END {for (i in rps) printf "%s: mean %d req/s, %.1f µs CPU a request; rounds:%s\n", nm[i + 1], rps[i] / k[i], cpu[i] / k[i], runs[i]}'
