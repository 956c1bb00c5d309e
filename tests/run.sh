#!/usr/bin/env bash
# Runs every test and prints one closing line: "N passed, N failed, N skipped".
# Each test program prints "PASS: name", "FAIL: name: why" or "SKIP: name: why"
# lines; a program that exits non-zero without a FAIL line counts as one failure.
# Knobs: NQ_FUZZ_SECONDS per fuzzer (default 30; 0 skips them), NQ_E2E=0 skips
# the emulators, NQ_SYSTEM=1 adds tests/system/ (fresh Debian 12 roots, the
# .deb, systemd-nspawn; .ci/run sets it), NQ_LIVE_LOCK=FILE runs each test
# program under `flock FILE` (hosts shared with other BPF/KVM users).
set -u
BUILD=${BUILD:-build}
FUZZ_SECONDS=${NQ_FUZZ_SECONDS:-30}
export BUILD
cd "$(dirname "$0")/.." || exit 2

passed=0 failed=0 skipped=0
log=$(mktemp -d /tmp/nestirq-tests.XXXXXX)
trap 'rm -rf "$log"' EXIT

run_one() { # name, command...
	local name=$1 out=$log/out rc
	shift
	# Not the system tests: they take the lock themselves, step by step.
	if [ -n "${NQ_LIVE_LOCK:-}" ] && [ "${name#system/}" = "$name" ]; then
		flock "$NQ_LIVE_LOCK" "$@" >"$out" 2>&1
	else
		"$@" >"$out" 2>&1
	fi
	rc=$?
	local p f s
	p=$(grep -c '^PASS: ' "$out")
	f=$(grep -c '^FAIL: ' "$out")
	s=$(grep -c '^SKIP: ' "$out")
	grep -E '^(PASS|FAIL|SKIP): ' "$out" | sed "s|^|[$name] |"
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "[$name] FAIL: $name exited with status $rc; its output:"
		sed 's/^/    /' "$out" | tail -n 40
		f=1
	elif [ "$f" -gt 0 ]; then
		# Show the context of failures: the program's other output.
		grep -vE '^(PASS|SKIP): ' "$out" | grep -v '^FAIL: ' | sed 's/^/    /' | tail -n 40
	fi
	if [ $((p + f + s)) -eq 0 ] && [ "$rc" -eq 0 ]; then
		echo "[$name] FAIL: $name ran no test case"
		f=1
	fi
	passed=$((passed + p))
	failed=$((failed + f))
	skipped=$((skipped + s))
}

for t in "$BUILD"/tests/test_*; do
	[ -x "$t" ] && run_one "$(basename "$t")" "$t"
done
for t in "$BUILD"/tests/live/*; do
	[ -x "$t" ] && run_one "live/$(basename "$t")" "$t"
done
for t in tests/cli/*.sh; do
	[ "$(basename "$t")" = lib.sh ] && continue # sourced by the others
	[ -f "$t" ] && run_one "cli/$(basename "$t" .sh)" bash "$t"
done
for f in "$BUILD"/fuzz/*; do
	[ -x "$f" ] || continue
	name=$(basename "$f")
	if [ "$FUZZ_SECONDS" = 0 ]; then
		run_one "fuzz/$name" echo "SKIP: $name: NQ_FUZZ_SECONDS=0"
		continue
	fi
	corpus=$log/corpus-$name
	mkdir -p "$corpus"
	cp tests/fuzz/corpus/* "$corpus"/ 2>/dev/null
	fuzz_case() {
		if "$f" -max_total_time="$FUZZ_SECONDS" -timeout=10 -rss_limit_mb=2048 \
			-artifact_prefix="$log/" "$corpus" >"$log/fuzz.log" 2>&1; then
			echo "PASS: $name ran ${FUZZ_SECONDS}s without a crash"
		else
			tail -n 30 "$log/fuzz.log"
			echo "FAIL: $name found a crash (see above)"
		fi
	}
	run_one "fuzz/$name" fuzz_case
done

if [ "${NQ_SYSTEM:-0}" = 1 ]; then
	for t in tests/system/*.sh; do
		[ "$(basename "$t")" = lib.sh ] && continue
		run_one "system/$(basename "$t" .sh)" bash "$t"
	done
fi

echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
