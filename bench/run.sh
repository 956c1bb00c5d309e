#!/usr/bin/env bash
# Runs every benchmark and prints its table.  Figures only: nothing is asserted.
#   (a) bench/storm.sh     storm throughput under each tracer
#   (b) bench/progcost.sh  per-program cost (kernel.bpf_stats_enabled)
#   (c) bench/capacity.sh  highest rate without drops; drops above it
#   (d) bench/footprint.sh serve's CPU and RSS under the storm
#   (e) engine replay      bench/engine_replay.c
#   (f) accept_cost        bench/accept_cost.c: one accept's program run time
#                          per accept mode against the bare counter (no VM needed)
# The live ones need root, /dev/kvm and BPF; they say "skipped: why" otherwise.
# Each takes its knobs from the environment (see the top of each script).
set -u
BUILD=${BUILD:-build}
export BUILD
cd "$(dirname "$0")/.." || exit 2
rc=0
for s in storm progcost capacity footprint; do
	bash "bench/$s.sh"
	r=$?
	[ $r -eq 0 ] || [ $r -eq 4 ] || rc=1
	echo
done
"$BUILD"/bench/engine_replay "${NQ_BENCH_PASSES:-8}" "${NQ_BENCH_ROUNDS:-5}" || rc=1
echo
"$BUILD"/bench/accept_cost "${NQ_ACCEPT_ROUNDS:-7}" "${NQ_ACCEPT_RUNS:-100000}"
r=$?
[ $r -eq 0 ] || [ $r -eq 4 ] || rc=1
exit $rc
