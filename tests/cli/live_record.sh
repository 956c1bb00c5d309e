#!/usr/bin/env bash
# Live end-to-end tests of `nestirq record`, `watch` and `doctor` on this host:
# a helper VM (build/tests/live/kvm_msi) fires N MSIs with known vectors at
# known vCPUs while nestirq traces only the helper's pid (-p).  Needs root,
# /dev/kvm and BPF; prints PASS:/FAIL:/SKIP: lines and exits non-zero on failure.
set -u
BUILD=${BUILD:-build}
cd "$(dirname "$0")/../.." || exit 2
NQ=$BUILD/nestirq
HELPER=$BUILD/tests/live/kvm_msi
N=1000
NV=2

failed=0
pass() { echo "PASS: $1"; }
fail() {
	echo "FAIL: $1: $2"
	failed=1
}
skip() { echo "SKIP: $1: $2"; }

tmp=$(mktemp -d /tmp/nestirq-live.XXXXXX)
pids=()
cleanup() {
	# Stop whatever is still running (tracers detach on SIGTERM/exit).
	for p in "${pids[@]}"; do
		kill -TERM "$p" 2>/dev/null
	done
	for p in "${pids[@]}"; do
		wait "$p" 2>/dev/null
	done
	exec 7>&- 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

why=
if [ "$(id -u)" != 0 ]; then
	why="not root"
elif [ ! -w /dev/kvm ]; then
	why="no /dev/kvm"
elif [ ! -e /sys/kernel/btf/vmlinux ]; then
	why="no BPF (no /sys/kernel/btf/vmlinux)"
elif [ ! -x "$NQ" ] || [ ! -x "$HELPER" ]; then
	why="$NQ or $HELPER not built"
fi
if [ -n "$why" ]; then
	for t in record_msi watch_json_msi doctor_kprobes; do skip "$t" "$why"; done
	exit 0
fi

# Start the helper VM; it waits for a line on fd 7 before firing.
start_helper() {
	rm -f "$tmp/go" "$tmp/helper.out"
	mkfifo "$tmp/go"
	"$HELPER" serve $NV $N <"$tmp/go" >"$tmp/helper.out" 2>&1 &
	pids+=($!)
	helper=$!
	exec 7>"$tmp/go"
	for _ in $(seq 100); do
		grep -q '^ready' "$tmp/helper.out" && return 0
		sleep 0.05
	done
	return 1
}

# Wait until a tracer printed "tracing:" on its stderr.
wait_tracing() { # file pid
	for _ in $(seq 200); do
		grep -q 'tracing:' "$1" && return 0
		kill -0 "$2" 2>/dev/null || return 1
		sleep 0.05
	done
	return 1
}

fire_and_wait() {
	echo go >&7
	exec 7>&-
	for _ in $(seq 200); do
		grep -q '^fired' "$tmp/helper.out" && break
		sleep 0.05
	done
	wait "$helper"
}

# --- record: exactly N accepts with the right vectors and vCPUs, no drops ---
t=record_msi
if ! start_helper; then
	fail $t "helper VM did not start: $(cat "$tmp/helper.out")"
else
	"$NQ" record -o "$tmp/t.nqt" -p "$helper" 2>"$tmp/rec.err" &
	rec=$!
	pids+=($rec)
	if ! wait_tracing "$tmp/rec.err" $rec; then
		fail $t "record did not start: $(cat "$tmp/rec.err")"
	else
		fire_and_wait
		sleep 0.3
		kill -INT $rec
		wait $rec
		rc=$?
		if [ $rc -ne 0 ]; then
			fail $t "record exited $rc: $(cat "$tmp/rec.err")"
		elif ! grep -q "^nestirq record: $N events, 0 dropped" "$tmp/rec.err"; then
			fail $t "summary: $(tail -n1 "$tmp/rec.err")"
		elif ! out=$("$HELPER" verify "$tmp/t.nqt" $NV $N "$helper"); then
			fail $t "$out"
		else
			pass $t
		fi
	fi
fi

# --- watch --json: N accepts, no violation, exit 0, VM labelled ---
t=watch_json_msi
if ! start_helper; then
	fail $t "helper VM did not start"
else
	"$NQ" watch --json -p "$helper" --interval 0 >"$tmp/watch.out" 2>"$tmp/watch.err" &
	w=$!
	pids+=($w)
	if ! wait_tracing "$tmp/watch.err" $w; then
		fail $t "watch did not start: $(cat "$tmp/watch.err")"
	else
		fire_and_wait
		sleep 0.3
		kill -TERM $w
		wait $w
		rc=$?
		sum=$(grep '"type":"summary"' "$tmp/watch.out")
		if [ $rc -ne 0 ]; then
			fail $t "watch exited $rc: $(cat "$tmp/watch.err")"
		elif ! grep -q "\"type\":\"vm\",\"pid\":$helper," "$tmp/watch.out"; then
			fail $t "no vm label line: $(head -n2 "$tmp/watch.out")"
		elif ! echo "$sum" | grep -q "\"irq_accept\":$N[,}]"; then
			fail $t "summary: $sum"
		elif ! echo "$sum" | grep -q '"violations":0[,}]'; then
			fail $t "violations in: $sum"
		elif ! echo "$sum" | grep -q '"lost":0[,}]'; then
			fail $t "drops in: $sum"
		else
			pass $t
		fi
	fi
fi

# --- doctor: kprobe points named unavailable with the reason ---
t=doctor_kprobes
out=$("$NQ" doctor 2>&1)
rc=$?
if [ -e /sys/bus/event_source/devices/kprobe ] || [ -e /sys/kernel/tracing/kprobe_events ]; then
	skip $t "this kernel has kprobes"
elif [ $rc -ne 4 ]; then
	fail $t "doctor exited $rc, expected 4"
else
	ok=1
	for p in check_vmx check_svm peek ack svi vmcs_switch; do
		echo "$out" | grep -E "^  $p +unavailable .*kprobes disabled" >/dev/null || ok=0
	done
	echo "$out" | grep -E '^  accept +attached' >/dev/null || ok=0
	if [ $ok = 1 ]; then pass $t; else fail $t "table: $out"; fi
fi

# --- doctor --json is one JSON object naming the same reasons ---
t=doctor_json
out=$("$NQ" doctor --json 2>&1)
if ! echo "$out" | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["probes"] and d["invariants"]' 2>/dev/null; then
	fail $t "not JSON: $out"
elif [ ! -e /sys/bus/event_source/devices/kprobe ] &&
	! echo "$out" | grep -q '"name":"ack","status":"unavailable","variant":"[^"]*","reason":"kprobes disabled'; then
	fail $t "ack not unavailable"
else
	pass $t
fi

exit $failed
