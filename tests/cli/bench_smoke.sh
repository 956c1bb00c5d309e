#!/usr/bin/env bash
# Every benchmark script runs, in a tiny configuration (a few seconds each),
# and prints its table.  No figure is asserted: only that each one works,
# that drops are accounted for exactly (seen + dropped = fired) and that
# kernel.bpf_stats_enabled is back to what it was.
cd "$(dirname "$0")/../.." || exit 1
. tests/cli/lib.sh
export BUILD NQ

# run_bench NAME SCRIPT: sets OUT and RC; SKIP when the host cannot run it.
run_bench() {
	OUT=$(bash "bench/$2.sh" 2>"$TMP/$2.err")
	RC=$?
	if [ $RC -eq 4 ]; then
		skip "$1" "$(grep -m1 'skipped:' <<<"$OUT" | sed 's/.*skipped: //')"
		return 1
	fi
	if [ $RC -ne 0 ]; then
		fail "$1" "exit $RC: $(tail -n 5 "$TMP/$2.err") $(tail -n 3 <<<"$OUT")"
		return 1
	fi
	return 0
}
has_row() { grep -qE "^\| $1 +\|" <<<"$OUT"; }

t=bench_storm
if NQ_STORM_ROUNDS=1 NQ_STORM_SECONDS=0.3 run_bench $t storm; then
	ok=1
	for c in none bare-raw bare-tp watch serve; do has_row "$c" || ok=0; done
	if command -v bpftrace >/dev/null; then has_row bpftrace || ok=0; fi
	# every tracer saw every MSI of its own storm
	bad=$(awk -F'|' 'NR > 3 && $8 ~ /\// {split($8, a, "/"); gsub(/ /, "", a[1]); gsub(/ /, "", a[2]);
		if (a[1] != "-" && a[1] != a[2]) print $2}' <<<"$OUT")
	if [ $ok -eq 1 ] && [ -z "$bad" ]; then pass $t; else fail $t "rows missing or counts off ($bad): $OUT"; fi
fi

t=bench_progcost
before=$(cat /proc/sys/kernel/bpf_stats_enabled 2>/dev/null)
if NQ_COST_ROUNDS=1 NQ_COST_SECONDS=1 NQ_COST_CONFIGS="bare-raw bare-rb-submit serve" run_bench $t progcost; then
	after=$(cat /proc/sys/kernel/bpf_stats_enabled)
	if [ "$before" != "$after" ]; then
		fail $t "kernel.bpf_stats_enabled was $before, left $after"
	elif has_row bare-raw && has_row bare-rb-submit && grep -qE '^\| serve +\| +[a-z_]*accept' <<<"$OUT"; then
		pass $t
	else fail $t "rows missing: $OUT"; fi
fi

t=bench_capacity
if NQ_CAP_RATES="100000 max" NQ_CAP_SECONDS=0.5 NQ_CAP_TRACERS=watch-stream run_bench $t capacity; then
	rows=$(grep -cE '^\| watch-stream +\|' <<<"$OUT")
	if [ "$rows" -ge 4 ] && has_row none && ! grep -q '!= fired\|no summary' <<<"$OUT"; then
		pass $t
	else fail $t "rows $rows, or drops not accounted: $OUT"; fi
fi

t=bench_footprint
if NQ_FOOT_ROUNDS=1 NQ_FOOT_SECONDS=0.5 run_bench $t footprint; then
	if has_row serve && has_row serve-stream; then pass $t; else fail $t "rows missing: $OUT"; fi
fi

t=bench_accept_cost
if [ ! -x "$BUILD/bench/accept_cost" ]; then
	fail $t "$BUILD/bench/accept_cost not built"
else
	OUT=$("$BUILD/bench/accept_cost" 1 2000 2>&1)
	RC=$?
	if [ $RC -eq 4 ]; then
		skip $t "$OUT"
	elif [ $RC -eq 0 ] && has_row bare && has_row count && has_row context &&
		has_row context-chk && has_row stream; then
		pass $t
	else fail $t "exit $RC: $OUT"; fi
fi

t=bench_engine_replay
if [ ! -x "$BUILD/bench/engine_replay" ]; then
	fail $t "$BUILD/bench/engine_replay not built"
elif OUT=$("$BUILD/bench/engine_replay" 1 1 2>&1) && has_row "engine \(in-memory events\)"; then
	pass $t
else fail $t "$OUT"; fi

finish
