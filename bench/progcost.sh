#!/usr/bin/env bash
# (b) Per-program cost: run_time_ns / run_cnt of each BPF program that fires
# during the storm, with kernel.bpf_stats_enabled=1 (restored on exit, also
# on failure or Ctrl-C), p50 over rounds that alternate the configurations:
#   bare-raw      the bare counter (bench/bare_counter.bpf.c): the floor,
#                 including what the statistics themselves cost per run
#   bare-ktime, bare-rb-discard, bare-rb-submit
#                 the counter plus one piece of streaming each: a clock
#                 read; a ring-buffer reserve + discard; a 64-byte record
#                 reserved, filled (with the clock) and submitted, consumed
#                 by a reader, i.e. the least any ring-buffer tracer pays
#   serve         nestirq serve as it runs here (accepts counted in the kernel)
#   serve-stream  full checking (NESTIRQ_STREAM_ACCEPTS=1, see bench/lib.sh)
# nestirq's figures come from its own /metrics (its programs, by name).
#
#   NQ_COST_ROUNDS (5)  NQ_COST_SECONDS (2)  NQ_COST_CONFIGS (all of the above)
set -u
cd "$(dirname "$0")/.." || exit 2
. bench/lib.sh
ROUNDS=${NQ_COST_ROUNDS:-5}
SECONDS_=${NQ_COST_SECONDS:-2}
CONFIGS=${NQ_COST_CONFIGS:-bare-raw bare-ktime bare-rb-discard bare-rb-submit serve serve-stream}

why=$(bench_live_skip)
[ -z "$why" ] && [ ! -w /proc/sys/kernel/bpf_stats_enabled ] && why="kernel.bpf_stats_enabled not writable"
[ -z "$why" ] && ! command -v curl >/dev/null && why="no curl"
if [ -n "$why" ]; then
	echo "progcost: skipped: $why"
	exit 4
fi
bench_tracefs
old_stats=$(cat /proc/sys/kernel/bpf_stats_enabled)
restore_stats() { echo "$old_stats" >/proc/sys/kernel/bpf_stats_enabled; }
trap 'restore_stats; _bench_cleanup' EXIT
echo 1 >/proc/sys/kernel/bpf_stats_enabled

port=$((20000 + $$ % 20000))
echo "== (b) per-program cost: run_time_ns/run_cnt under the storm, $ROUNDS rounds of ${SECONDS_}s =="
: >"$BTMP/cost"
for r in $(seq "$ROUNDS"); do
	for cfg in $CONFIGS; do
		storm_start -t 1 -v 4 -k 16 -s "$SECONDS_" || exit 1
		tracer_start "$cfg" "$STORM_PID" || exit 1
		storm_go || exit 1
		case $cfg in
		serve*)
			sleep 1.2 # serve refreshes program statistics once a second
			curl -s "http://127.0.0.1:$port/metrics" >"$BTMP/metrics"
			tracer_stop "$cfg"
			awk -v r="$r" -v c="$cfg" -F'[{}"= ]+' '
				/^nestirq_bpf_prog_run_time_seconds_total\{/ { t[$3] = $4 }
				/^nestirq_bpf_prog_runs_total\{/ { n[$3] = $4 }
				END { for (p in n) if (n[p] > 0) printf "%s %s %s %.1f %d\n", r, c, p, t[p] * 1e9 / n[p], n[p] }' \
				"$BTMP/metrics" >>"$BTMP/cost" ;;
		bare-*)
			tracer_stop "$cfg"
			awk -v r="$r" -v c="$cfg" -v p="${cfg//-/_}" '/^bare events/ && $9 > 0 {printf "%s %s %s %.1f %d\n", r, c, p, $7 / $9, $9}' \
				"$BTMP/tr.out" >>"$BTMP/cost" ;;
		esac
	done
done
restore_stats

printf '| %-15s | %-15s | %12s | %12s | %12s | %10s |\n' config program "p50 ns/run" "min ns/run" "max ns/run" "runs/round"
printf '|%s|%s|%s|%s|%s|%s|\n' ----------------- ----------------- -------------- -------------- -------------- ------------
for cfg in $CONFIGS; do
	for p in $(awk -v c="$cfg" '$2 == c {print $3}' "$BTMP/cost" | sort -u); do
		vals=$(awk -v c="$cfg" -v p="$p" '$2 == c && $3 == p {print $4}' "$BTMP/cost")
		runs=$(awk -v c="$cfg" -v p="$p" '$2 == c && $3 == p {print $5}' "$BTMP/cost" | median)
		printf '| %-15s | %-15s | %12.1f | %12.1f | %12.1f | %10.0f |\n' "$cfg" "$p" "$(median <<<"$vals")" \
			"$(sort -g <<<"$vals" | head -n1)" "$(sort -g <<<"$vals" | tail -n1)" "$runs"
	done
done
echo "programs that did not run are not listed (this host: no nested guest, so only the accept tracepoint fires)"
echo "kernel.bpf_stats_enabled restored to $(cat /proc/sys/kernel/bpf_stats_enabled)"
bench_facts
