#!/usr/bin/env bash
# bench-process.sh: the real-process benchmark of issue 15 item 3. A master and one slave lotou-node
# (--services echo) on loopback, measured with `lotouctl bench --target echo:<slave>`, and beside it, in the
# same minute, a raw TCP echo (bench/process/rawtcp: 32-byte messages, one connection per caller). Every row is
# printed as a ratio of raw TCP.
#
#   hack/bench-process.sh [duration]   (default 5s per run)
#
# Modes: call (each caller waits for each reply) and send (one-way messages, a barrier call every
# 1000/concurrency messages); concurrency 1, 16, 256 ($LOTOU_BENCH_CONC). Output: bin/bench/process.txt; with
# LOTOU_BENCH_PROFILE=1 also lotouctl CPU profiles bin/bench/process-<mode>-c<n>.cpu.pprof (go tool pprof -top <file>).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DUR="${1:-5s}"
CONC="${LOTOU_BENCH_CONC:-1 16 256}"
OUT="$ROOT/bin/bench"
WORK="$(mktemp -d)"
mkdir -p "$OUT"
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	# A node whose master never came up drains forever: give them 5 s.
	for _ in $(seq 50); do
		alive=0
		for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
		[[ $alive == 0 ]] && break
		sleep 0.1
	done
	for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	rm -rf "$WORK"
}
trap cleanup EXIT

# pick_port VAR sets VAR to a loopback TCP port nobody listens on, not handed out before, below the
# ephemeral range (32768+), where the local end of some other connection may hold it.
used=" "
pick_port() {
	local p
	while :; do
		p=$((20000 + RANDOM % 12000))
		[[ $used == *" $p "* ]] && continue
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			used+="$p "
			printf -v "$1" '%s' "$p"
			return
		fi
	done
}
pick_port raw_port
pick_port master_port
pick_port master_http
pick_port slave_port
pick_port slave_http

echo "== building lotou-node, lotouctl, rawtcp" >&2
(cd "$ROOT" && go build -o "$WORK/" ./cmd/lotou-node ./cmd/lotouctl)
(cd "$ROOT/bench" && go build -o "$WORK/" ./process/rawtcp)
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$WORK/token"

RAW="127.0.0.1:$raw_port"
MASTER="127.0.0.1:$master_port"
"$WORK/rawtcp" -serve "$RAW" 2>"$WORK/raw.log" &
pids+=($!)
"$WORK/lotou-node" --role master --name bm --listen "$MASTER" --http "127.0.0.1:$master_http" \
	--token-file "$WORK/token" --log-level error >"$WORK/master.log" 2>&1 &
pids+=($!)
"$WORK/lotou-node" --role slave --name bs --listen "127.0.0.1:$slave_port" --http "127.0.0.1:$slave_http" \
	--master "$MASTER" --token-file "$WORK/token" --services echo --log-level error >"$WORK/slave.log" 2>&1 &
pids+=($!)
ctl() { "$WORK/lotouctl" --master "$MASTER" --token-file "$WORK/token" "$@"; }
for i in $(seq 50); do
	if ctl call echo:bs echo 1 >/dev/null 2>&1; then break; fi
	[[ $i -lt 50 ]] || {
		cat "$WORK"/*.log >&2
		echo "echo:bs never answered" >&2
		exit 1
	}
	sleep 0.2
done

# fields prints "rate p50 p99" (rate in msgs/s, latencies in µs) from a bench output.
fields() {
	awk '/^calls/ {
		r = $6
		for (i = 1; i <= NF; i++) {
			if ($i == "p50") p50 = $(i + 1)
			if ($i == "p99") p99 = $(i + 1)
		}
		print r, us(p50), us(p99)
	}
	function us(d) {
		if (d ~ /ms$/) return substr(d, 1, length(d) - 2) * 1000
		if (d ~ /µs$/) return substr(d, 1, length(d) - 3) + 0
		if (d ~ /ns$/) return substr(d, 1, length(d) - 2) / 1000
		return substr(d, 1, length(d) - 1) * 1000000
	}'
}

{
	echo "# hack/bench-process.sh $DUR  ($(date -u +%FT%TZ), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg))"
	echo "# ratio = Lotou / raw TCP in the same minute (rate: higher is better; p50/p99: lower is better)"
	printf '%-5s %5s | %10s %9s %9s | %10s %9s %9s | %6s %6s %6s\n' mode conc raw/s raw-p50 raw-p99 lotou/s p50 p99 rate× p50× p99×
	for mode in call send; do
		for c in $CONC; do
			raw=$("$WORK/rawtcp" -target "$RAW" -mode "$mode" -concurrency "$c" -duration "$DUR" | fields)
			lot=$(ctl bench --target echo:bs --mode "$mode" --concurrency "$c" --duration "$DUR" \
				${LOTOU_BENCH_PROFILE:+--cpuprofile "$OUT/process-$mode-c$c.cpu.pprof"} 2>/dev/null | fields)
			read -r rr r50 r99 <<<"$raw"
			read -r lr l50 l99 <<<"$lot"
			awk -v m="$mode" -v c="$c" -v rr="$rr" -v r50="$r50" -v r99="$r99" -v lr="$lr" -v l50="$l50" -v l99="$l99" 'BEGIN {
				printf "%-5s %5d | %10.0f %7.1fµs %7.1fµs | %10.0f %7.1fµs %7.1fµs | %6.2f %6.2f %6.2f\n",
					m, c, rr, r50, r99, lr, l50, l99, lr / rr, l50 / r50, l99 / r99
			}'
		done
	done
} | tee "$OUT/process.txt"
