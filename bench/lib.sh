# Shared by the live benchmarks (storm.sh, progcost.sh, capacity.sh,
# footprint.sh): an MSI storm gated on a FIFO, each tracer started against
# the storm's PID and stopped with its own count, and medians.  Sourced.
BUILD=${BUILD:-build}
NQ=${NQ:-$BUILD/nestirq}
STORM=${STORM:-$BUILD/bench/storm}
BTMP=$(mktemp -d /tmp/nestirq-bench.XXXXXX)
_bench_cleanup() { # our own background jobs that still run, by pid; nothing else
	local p
	for p in $(jobs -pr); do kill -TERM "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$BTMP"
}
trap _bench_cleanup EXIT
trap 'exit 130' INT TERM

# Why this host cannot run the live benchmarks, or nothing.
bench_live_skip() {
	[ "$(id -u)" -eq 0 ] || { echo "not root"; return; }
	[ -r /dev/kvm ] || { echo "no /dev/kvm"; return; }
	[ -e /sys/kernel/btf/vmlinux ] || { echo "no BPF (no /sys/kernel/btf/vmlinux)"; return; }
	[ -x "$STORM" ] || { echo "$STORM not built (make bench)"; return; }
	[ -x "$NQ" ] || { echo "$NQ not built (make)"; return; }
}

# Tracefs for the classic tracepoints (bpftrace, bare tp); nestirq mounts its own.
bench_tracefs() {
	[ -d /sys/kernel/tracing/events ] || mount -t tracefs nodev /sys/kernel/tracing 2>/dev/null
}

# wait_for FILE PATTERN [PID]: until PATTERN is in FILE (10 s), 1 if PID died.
wait_for() {
	local i
	for i in $(seq 500); do
		grep -q "$2" "$1" 2>/dev/null && return 0
		[ -n "${3:-}" ] && ! kill -0 "$3" 2>/dev/null && return 1
		sleep 0.02
	done
	return 1
}

# storm_start ARGS...: VMs created, waiting at the gate.  Sets STORM_PID, STORM_JOB.
storm_start() {
	rm -f "$BTMP/gate" "$BTMP/storm.out"
	mkfifo "$BTMP/gate"
	exec 7<>"$BTMP/gate"
	"$STORM" fire -w "$@" <"$BTMP/gate" >"$BTMP/storm.out" 2>&1 &
	STORM_JOB=$!
	wait_for "$BTMP/storm.out" '^ready' "$STORM_JOB" || {
		echo "bench: storm did not start: $(cat "$BTMP/storm.out")" >&2
		return 1
	}
	STORM_PID=$(awk '/^ready/{print $2}' "$BTMP/storm.out")
}

# storm_go: opens the gate, waits for the storm.  Sets STORM_MSIS, STORM_RATE (MSIs/s,
# wall clock) and STORM_CPU_NS (the firing threads' CPU ns per MSI).
storm_go() {
	echo go >&7
	wait "$STORM_JOB"
	exec 7>&-
	STORM_RES=$(tail -n 1 "$BTMP/storm.out")
	STORM_MSIS=$(awk '$1 == "msis" {print $2}' <<<"$STORM_RES")
	STORM_RATE=$(awk '$1 == "msis" {print $6}' <<<"$STORM_RES")
	STORM_CPU_NS=$(awk '$1 == "msis" {print $12}' <<<"$STORM_RES")
	[ -n "$STORM_RATE" ] || { echo "bench: storm failed: $STORM_RES" >&2; return 1; }
}

# tracer_start CONFIG PID: attach CONFIG to PID's events.  Sets TR_PID.
#   none | bare-raw | bare-tp | bpftrace | watch | serve | watch-stream | serve-stream
# (-stream: NESTIRQ_STREAM_ACCEPTS=1, full checking: the accept path of a host
# whose probes pair accepts with checks; event ABI 3 keeps the history in the
# kernel and streams an accept only inside a check.  NQ_STREAM_ACCEPTS
# overrides the value, e.g. "all": every accept through the ring buffer)
tracer_start() {
	local cfg=$1 pid=$2
	TR_PID=
	rm -f "$BTMP/tr.out" "$BTMP/tr.err" "$BTMP/serve.log"
	case $cfg in
	none) return 0 ;;
	bare-*)
		"$STORM" bare "${cfg#bare-}" "$pid" >"$BTMP/tr.out" 2>"$BTMP/tr.err" &
		TR_PID=$!
		wait_for "$BTMP/tr.out" '^ready' $TR_PID ;;
	bpftrace)
		bpftrace -e "tracepoint:kvm:kvm_apic_accept_irq /pid == $pid/ { @[args->vec] = count(); }" \
			>"$BTMP/tr.out" 2>"$BTMP/tr.err" &
		TR_PID=$!
		wait_for "$BTMP/tr.out" '^Attaching' $TR_PID && sleep 0.2 ;;
	watch | watch-stream)
		NESTIRQ_STREAM_ACCEPTS=$([ "$cfg" = watch-stream ] && echo "${NQ_STREAM_ACCEPTS:-1}") \
			"$NQ" watch -p "$pid" --interval 0 --json >"$BTMP/tr.out" 2>"$BTMP/tr.err" &
		TR_PID=$!
		wait_for "$BTMP/tr.err" 'tracing:' $TR_PID ;;
	serve | serve-stream)
		NESTIRQ_STREAM_ACCEPTS=$([ "$cfg" = serve-stream ] && echo "${NQ_STREAM_ACCEPTS:-1}") \
			"$NQ" serve -p "$pid" --listen "127.0.0.1:$((20000 + $$ % 20000))" \
			--log "$BTMP/serve.log" >"$BTMP/tr.out" 2>"$BTMP/tr.err" &
		TR_PID=$!
		wait_for "$BTMP/serve.log" 'serving http' $TR_PID ;;
	*)
		echo "bench: unknown tracer $cfg" >&2
		return 1 ;;
	esac
	local rc=$?
	[ $rc -eq 0 ] || echo "bench: $cfg did not attach: $(cat "$BTMP/tr.err" "$BTMP/serve.log" 2>/dev/null | tail -n 3)" >&2
	return $rc
}

# tracer_stop CONFIG: stops it.  Sets TR_SEEN, TR_DROPS (what it counted; - if n/a).
tracer_stop() {
	local cfg=$1 seen=- drops=-
	if [ -n "$TR_PID" ]; then
		kill -INT "$TR_PID" 2>/dev/null
		wait "$TR_PID" 2>/dev/null
	fi
	case $cfg in
	bare-*) seen=$(awk '/^bare events/{print $3}' "$BTMP/tr.out"); drops=0 ;;
	bpftrace) seen=$(awk -F': ' '/^@\[/{s += $2} END {print s + 0}' "$BTMP/tr.out"); drops=0 ;;
	watch | watch-stream)
		seen=$(grep '"type":"summary"' "$BTMP/tr.out" | jq -r '.events_by_kind.irq_accept // 0')
		# the drop total is on stderr (absent: none)
		drops=$(sed -n 's/.*: \([0-9]*\) records dropped.*/\1/p' "$BTMP/tr.err")
		drops=${drops:-0} ;;
	serve | serve-stream)
		seen=$(sed -n 's/.*stopping: \([0-9]*\) events.*/\1/p' "$BTMP/serve.log")
		drops=$(sed -n 's/.* \([0-9]*\) ring-buffer drops.*/\1/p' "$BTMP/serve.log") ;;
	esac
	TR_SEEN=${seen:--}
	TR_DROPS=${drops:--}
}

# median: of the numbers on stdin, one per line.
median() {
	sort -g | awk '{v[NR] = $1} END {if (NR == 0) print "nan"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2}'
}

# bench_facts: one line about this machine, for the tables.
bench_facts() {
	echo "host: $(uname -r), $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load average $(cut -d' ' -f1-3 /proc/loadavg), $(date -u '+%Y-%m-%d %H:%M UTC')"
}
