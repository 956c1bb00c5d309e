#!/usr/bin/env bash
# (c) Capacity: the storm ramped up (paced threads, then unpaced), every
# accept through the ring buffer (NESTIRQ_STREAM_ACCEPTS=all: the costly path,
# what a host with pairing probes paid before event ABI 3), then the same with the ring shrunk to
# provoke drops: are they counted (seen + dropped = fired) and does nestirq
# keep running?  The tracer is `nestirq watch`.
#
#   NQ_CAP_RATES ("250000 500000 1000000 1500000 max")  total MSIs/s per step
#   NQ_CAP_SECONDS (3)  NQ_CAP_THREADS (2)  NQ_CAP_SMALL_RING (65536)
#   NQ_CAP_TRACERS ("watch-stream watch")
set -u
cd "$(dirname "$0")/.." || exit 2
. bench/lib.sh
RATES=${NQ_CAP_RATES:-250000 500000 1000000 1500000 max}
SECONDS_=${NQ_CAP_SECONDS:-3}
THREADS=${NQ_CAP_THREADS:-2}
SMALL=${NQ_CAP_SMALL_RING:-65536}
TRACERS=${NQ_CAP_TRACERS:-watch-stream watch}
export NQ_STREAM_ACCEPTS=${NQ_STREAM_ACCEPTS:-all} # every accept through the ring: its capacity

why=$(bench_live_skip)
if [ -n "$why" ]; then
	echo "capacity: skipped: $why"
	exit 4
fi
bench_tracefs
echo "== (c) capacity: $THREADS storm threads, ${SECONDS_}s per step, ring $((8 << 20)) bytes (default) and $SMALL =="
printf '| %-12s | %-9s | %12s | %12s | %10s | %10s | %8s | %-16s |\n' tracer ring "target/s" "events/s" fired seen dropped "seen+dropped"
printf '|%s|%s|%s|%s|%s|%s|%s|%s|\n' -------------- ----------- -------------- -------------- ------------ ------------ ---------- ------------------
step() { # TRACER RING RATE
	local tr=$1 ring=$2 rate=$3 r=() rc ok
	[ "$rate" != max ] && r=(-r "$(awk -v t="$rate" -v n="$THREADS" 'BEGIN {print t / n}')")
	storm_start -t "$THREADS" -v 4 -k 16 -s "$SECONDS_" "${r[@]}" || return 1
	if [ "$ring" = default ]; then
		tracer_start "$tr" "$STORM_PID" || return 1
	else
		NESTIRQ_RINGBUF_BYTES=$ring tracer_start "$tr" "$STORM_PID" || return 1
	fi
	storm_go || return 1
	tracer_stop "$tr"
	if [ "$tr" = none ]; then
		printf '| %-12s | %-9s | %12s | %12.0f | %10d | %10s | %8s | %-16s |\n' none - "$rate" "$STORM_RATE" "$STORM_MSIS" - - -
		return 0
	fi
	rc=$(grep -c '"type":"summary"' "$BTMP/tr.out")
	ok="= fired"
	[ "$((TR_SEEN + TR_DROPS))" -eq "$STORM_MSIS" ] || ok="!= fired"
	[ "$rc" -eq 1 ] || ok="$ok, no summary"
	printf '| %-12s | %-9s | %12s | %12.0f | %10d | %10d | %8d | %-16s |\n' "$tr" "$ring" "$rate" "$STORM_RATE" \
		"$STORM_MSIS" "$TR_SEEN" "$TR_DROPS" "$ok"
}
step none default max || exit 1 # what this machine fires untraced, for scale
for tr in $TRACERS; do
	for rate in $RATES; do step "$tr" default "$rate" || exit 1; done
done
step watch-stream "$SMALL" max || exit 1
step watch-stream "$SMALL" 1000000 || exit 1
echo "events/s: what the storm achieved (all threads, wall clock); dropped: nestirq's own per-CPU drop counters"
bench_facts
