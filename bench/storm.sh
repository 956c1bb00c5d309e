#!/usr/bin/env bash
# (a) Storm throughput: the same MSI storm under each tracer, alternating
# configurations round by round (A B C ... A B C ...), medians of per-round
# figures.  Each tracer is attached to the storm's process only (-p PID or a
# pid filter), so other KVM users on the machine do not count.
#
#   NQ_STORM_ROUNDS (5)  NQ_STORM_SECONDS (2)  NQ_STORM_THREADS (1)
#   NQ_STORM_VCPUS (4)   NQ_STORM_VECTORS (16)
#   NQ_STORM_CONFIGS ("none bare-raw bare-tp bpftrace watch serve watch-stream serve-stream")
#   (watch-stream, serve-stream: NESTIRQ_STREAM_ACCEPTS=1, see bench/lib.sh)
set -u
cd "$(dirname "$0")/.." || exit 2
. bench/lib.sh
ROUNDS=${NQ_STORM_ROUNDS:-5}
SECONDS_=${NQ_STORM_SECONDS:-2}
THREADS=${NQ_STORM_THREADS:-1}
VCPUS=${NQ_STORM_VCPUS:-4}
VECTORS=${NQ_STORM_VECTORS:-16}
CONFIGS=${NQ_STORM_CONFIGS:-none bare-raw bare-tp bpftrace watch serve watch-stream serve-stream}

why=$(bench_live_skip)
[ -z "$why" ] && ! command -v bpftrace >/dev/null && [[ " $CONFIGS " == *" bpftrace "* ]] &&
	CONFIGS=${CONFIGS/bpftrace/} && echo "storm: bpftrace not installed (make deps); left out" >&2
if [ -n "$why" ]; then
	echo "storm: skipped: $why"
	exit 4
fi
bench_tracefs
runs=$BTMP/runs
: >"$runs"
echo "== (a) storm throughput: $THREADS thread(s) x KVM_SIGNAL_MSI, $VCPUS vCPUs, $VECTORS vectors, ${SECONDS_}s per run, $ROUNDS rounds =="
for r in $(seq "$ROUNDS"); do
	for cfg in $CONFIGS; do
		storm_start -t "$THREADS" -v "$VCPUS" -k "$VECTORS" -s "$SECONDS_" || exit 1
		if ! tracer_start "$cfg" "$STORM_PID"; then
			kill "$STORM_JOB" 2>/dev/null
			exit 1
		fi
		storm_go || exit 1
		tracer_stop "$cfg"
		echo "$r $cfg $STORM_RATE $STORM_MSIS $TR_SEEN $TR_DROPS $STORM_CPU_NS" >>"$runs"
		[ -n "${NQ_BENCH_VERBOSE:-}" ] && echo "# round $r $cfg: $STORM_RES; seen $TR_SEEN drops $TR_DROPS" >&2
	done
done

# Per round: the ratio of rates to none's, and the CPU ns per MSI added to
# none's; then medians over the rounds.
awk '{ print $2, $3, $7, $4, $5, $6, $1 }' "$runs" >"$BTMP/r"
per_round() { # CONFIG -> lines "rate ratio cpu_ns added_ns" per round
	awk -v c="$1" 'NR == FNR { if ($1 == "none") { nr[$7] = $2; nc[$7] = $3 } next }
		$1 == c && ($7 in nr) { print $2, $2 / nr[$7], $3, $3 - nc[$7] }' "$BTMP/r" "$BTMP/r"
}
med() { per_round "$1" | awk -v k="$2" '{print $k}' | median; }
tot() { # CONFIG FIELD: sum over runs, - if any run had none
	awk -v c="$1" -v k="$2" '$1 == c {if ($k == "-") d = 1; s += $k} END {print d ? "-" : s}' "$BTMP/r"
}
"$NQ" doctor 2>/dev/null | grep -m1 '^  accept ' >"$BTMP/hook"
hook_bare=bare-tp
grep -q 'raw_tp' "$BTMP/hook" && hook_bare=bare-raw
bare_for() {
	case $1 in
	bpftrace | bare-tp) echo bare-tp ;;
	bare-raw) echo bare-raw ;;
	watch* | serve*) echo "$hook_bare" ;;
	esac
}
printf '| %-12s | %10s | %8s | %11s | %12s | %13s | %-23s | %5s |\n' tracer "MSIs/s" "vs none" "CPU ns/MSI" "added ns/ev" "added vs bare" "seen / fired (all runs)" drops
printf '|%s|%s|%s|%s|%s|%s|%s|%s|\n' -------------- ------------ ---------- ------------- -------------- --------------- ------------------------- -------
for cfg in $CONFIGS; do
	added=$(med "$cfg" 4)
	b=$(bare_for "$cfg")
	vs=-
	if [ -n "$b" ] && [[ " $CONFIGS " == *" $b "* ]]; then
		vs=$(awk -v a="$added" -v b="$(med "$b" 4)" 'BEGIN {if (b <= 0) print "-"; else printf "%.2fx", a / b}')
		vs="$vs ($b)"
		[ "$cfg" = "$b" ] && vs="1.00x"
	fi
	printf '| %-12s | %10.0f | %7.3fx | %11.1f | %12.1f | %13s | %-23s | %5s |\n' "$cfg" "$(med "$cfg" 1)" "$(med "$cfg" 2)" \
		"$(med "$cfg" 3)" "$added" "$vs" "$(tot "$cfg" 5) / $(tot "$cfg" 4)" "$(tot "$cfg" 6)"
done
echo "medians of $ROUNDS rounds; CPU ns/MSI: the firing thread's CPU time per MSI (BPF runs in its context); added: minus none's, same round"
echo "'added vs bare': over the bare counter on the same hook (nestirq's accept hook: $(sed 's/^ *accept *attached *//' "$BTMP/hook"))"
echo "watch/serve count accepts in the kernel when no check/peek/ack probe can pair them (this host: no kprobes); -stream: NESTIRQ_STREAM_ACCEPTS=1, full checking (event ABI 3: history in the kernel, streamed only inside a check)"
bench_facts
