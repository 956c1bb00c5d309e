#!/usr/bin/env bash
# (d) Daemon footprint: CPU and memory of `nestirq serve` while the storm
# runs at full speed, as it runs here (accepts counted in the kernel) and
# with full checking (NESTIRQ_STREAM_ACCEPTS=1, see bench/lib.sh), rounds alternated.
# CPU: user + system time of the serve process over the storm's wall time
# (100% = one CPU); RSS: VmRSS at the end, VmHWM its peak; the ring buffer's
# pages are part of RSS (RssFile) once read.
#
#   NQ_FOOT_ROUNDS (3)  NQ_FOOT_SECONDS (3)  NQ_FOOT_THREADS (2)
set -u
cd "$(dirname "$0")/.." || exit 2
. bench/lib.sh
ROUNDS=${NQ_FOOT_ROUNDS:-3}
SECONDS_=${NQ_FOOT_SECONDS:-3}
THREADS=${NQ_FOOT_THREADS:-2}
CONFIGS="serve serve-stream"

why=$(bench_live_skip)
if [ -n "$why" ]; then
	echo "footprint: skipped: $why"
	exit 4
fi
bench_tracefs
tck=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null; }
kib() { awk -v k="$2" '$1 == k":" {print $2}' "/proc/$1/status" 2>/dev/null; }
echo "== (d) serve footprint: $THREADS storm threads unpaced, ${SECONDS_}s per run, $ROUNDS rounds =="
: >"$BTMP/foot"
for r in $(seq "$ROUNDS"); do
	for cfg in $CONFIGS; do
		storm_start -t "$THREADS" -v 4 -k 16 -s "$SECONDS_" || exit 1
		tracer_start "$cfg" "$STORM_PID" || exit 1
		c0=$(cpu_ticks "$TR_PID")
		t0=$(date +%s.%N)
		storm_go || exit 1
		t1=$(date +%s.%N)
		c1=$(cpu_ticks "$TR_PID")
		rss=$(kib "$TR_PID" VmRSS)
		hwm=$(kib "$TR_PID" VmHWM)
		anon=$(kib "$TR_PID" RssAnon)
		tracer_stop "$cfg"
		echo "$cfg $STORM_RATE $(awk -v a="$c0" -v b="$c1" -v t0="$t0" -v t1="$t1" -v h="$tck" \
			'BEGIN {printf "%.1f", (b - a) / h / (t1 - t0) * 100}') $rss $hwm $anon $TR_SEEN $TR_DROPS $STORM_MSIS" >>"$BTMP/foot"
	done
done
printf '| %-12s | %12s | %10s | %12s | %12s | %13s | %8s |\n' config "events/s" "CPU %" "RSS MiB" "peak MiB" "anon MiB" drops
printf '|%s|%s|%s|%s|%s|%s|%s|\n' -------------- -------------- ------------ -------------- -------------- --------------- ----------
for cfg in $CONFIGS; do
	m() { awk -v c="$cfg" -v k="$1" '$1 == c {print $k}' "$BTMP/foot" | median; }
	printf '| %-12s | %12.0f | %10.1f | %12.1f | %12.1f | %13.1f | %8s |\n' "$cfg" "$(m 2)" "$(m 3)" \
		"$(awk -v v="$(m 4)" 'BEGIN {print v / 1024}')" "$(awk -v v="$(m 5)" 'BEGIN {print v / 1024}')" \
		"$(awk -v v="$(m 6)" 'BEGIN {print v / 1024}')" "$(awk -v c="$cfg" '$1 == c {s += $8} END {print s}' "$BTMP/foot")"
done
echo "medians of $ROUNDS rounds; drops: total over the rounds; goal: RSS < 32 MiB"
bench_facts
