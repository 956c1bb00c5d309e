#!/usr/bin/env bash
# Flag parsing of the live commands (doctor, watch, record): --help exits 0,
# a bad flag or value prints one line on stderr and exits 2.  Needs no
# privilege: every case fails before anything is loaded.
set -u
BUILD=${BUILD:-build}
cd "$(dirname "$0")/../.." || exit 2
NQ=$BUILD/nestirq
failed=0

if [ ! -x "$NQ" ]; then
	echo "SKIP: live_flags: $NQ not built"
	exit 0
fi

tmp=$(mktemp -d /tmp/nestirq-flags.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

expect() { # name rc cmd...
	local name=$1 want=$2 rc lines
	shift 2
	"$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	lines=$(wc -l <"$tmp/err")
	if [ "$rc" -ne "$want" ]; then
		echo "FAIL: $name: exit $rc, expected $want: $(head -c 300 "$tmp/err")"
		failed=1
	elif [ "$want" -eq 2 ] && [ "$lines" -ne 1 ]; then
		echo "FAIL: $name: expected a one-line error, got $lines lines: $(cat "$tmp/err")"
		failed=1
	else
		echo "PASS: $name"
	fi
}

for c in doctor watch record; do
	expect "${c}_help" 0 "$NQ" $c --help
	grep -q "^usage: nestirq $c" "$tmp/out" || {
		echo "FAIL: ${c}_help_text: no usage line"
		failed=1
	}
	expect "${c}_bad_long_flag" 2 "$NQ" $c --bogus
	expect "${c}_bad_short_flag" 2 "$NQ" $c -Z
	expect "${c}_extra_arg" 2 "$NQ" $c stray
done
expect doctor_json_value 2 "$NQ" doctor --json=yes
expect watch_pid_missing 2 "$NQ" watch -p
expect watch_pid_bad 2 "$NQ" watch -p abc
expect watch_pid_zero 2 "$NQ" watch -p 0
expect watch_pid_gone 2 "$NQ" watch -p 1073741823
expect watch_vcpu_bad 2 "$NQ" watch --vcpu -3
expect watch_duration_bad 2 "$NQ" watch --duration 10x
expect watch_duration_zero 2 "$NQ" watch --duration 0
expect watch_interval_bad 2 "$NQ" watch --interval 1q
expect record_no_output 2 "$NQ" record
expect record_output_missing 2 "$NQ" record -o
expect record_duration_bad 2 "$NQ" record -o "$tmp/x" --duration -1
expect record_pid_bad 2 "$NQ" record -o "$tmp/x" -p 12ab
[ -e "$tmp/x" ] && {
	echo "FAIL: record_no_file_on_error: $tmp/x was created"
	failed=1
}

# doctor without privilege: every point names "no privilege", exit 4.
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
	setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all \
		"$NQ" doctor >"$tmp/out" 2>&1
	rc=$?
	n=$(grep -c 'no privilege' "$tmp/out")
	if [ $rc -ne 4 ] || [ "$n" -lt 10 ]; then
		echo "FAIL: doctor_unprivileged: exit $rc, $n 'no privilege' reasons"
		failed=1
	else
		echo "PASS: doctor_unprivileged"
	fi
	setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all \
		"$NQ" watch --duration 1 >"$tmp/out" 2>"$tmp/err"
	rc=$?
	if [ $rc -ne 4 ] || [ "$(wc -l <"$tmp/err")" -ne 1 ]; then
		echo "FAIL: watch_unprivileged: exit $rc (expected 4): $(cat "$tmp/err")"
		failed=1
	else
		echo "PASS: watch_unprivileged"
	fi
else
	echo "SKIP: doctor_unprivileged: not root or no setpriv"
fi

# Durations: a live run that ends by itself (root only; skipped otherwise).
if [ "$(id -u)" = 0 ] && [ -e /sys/kernel/btf/vmlinux ]; then
	start=$(date +%s%N)
	expect record_duration_ms 0 "$NQ" record -o "$tmp/d.nqt" --duration 300ms -p $$
	ms=$((($(date +%s%N) - start) / 1000000))
	if [ $ms -gt 5000 ]; then
		echo "FAIL: record_duration_elapsed: took ${ms}ms for 300ms"
		failed=1
	fi
	expect watch_duration_s 0 "$NQ" watch --duration 1 --interval 200ms -p $$
	n=$(grep -c 'events/s' "$tmp/out")
	if [ "$n" -lt 2 ]; then
		echo "FAIL: watch_interval_lines: $n interval lines in 1s at 200ms"
		failed=1
	else
		echo "PASS: watch_interval_lines"
	fi
	grep -q '^verdict: PASS' "$tmp/out" || {
		echo "FAIL: watch_summary: no final summary: $(tail -n3 "$tmp/out")"
		failed=1
	}
else
	echo "SKIP: live_durations: not root or no BPF"
fi
exit $failed
