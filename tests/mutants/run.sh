#!/usr/bin/env bash
# run.sh [CASE...]   (make mutants; MUTANTS="v1_regression control" picks cases)
# Runs the mutant cases of tests/mutants/cases: builds the kernel (build.sh),
# boots it under the e2e harness (tests/e2e/run.sh) with the case's workload,
# brings the trace back and holds `nestirq replay` to the expected violation
# kinds.  Prints PASS:/FAIL:/SKIP: lines and "N passed, N failed, N skipped".
#
# The e2e harness is reused unchanged through its E2E_CACHE knob: each case
# gets a private cache dir whose k/6.12 is the mutant kernel dir (vmlinuz,
# mods/, release) and whose wl/ holds the workload (nq_mut installed as
# nq_vmx_irq when the case has a workload mode, passed as nq.wlmode); bochs3,
# the KVM selftests tree and the apt lists are links to the shared e2e cache.
# Results: cache/results/CASE/{t.bin,replay.txt,replay.json,serial.txt,...}.
# Env: MUT_SAVE=1 also writes tests/data/mutant_CASE.{jsonl,expect} (record.sh).
set -uo pipefail
MUT_DIR=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../e2e/lib.sh
. "$MUT_DIR/../e2e/lib.sh"
MUT_CACHE=${MUT_CACHE:-$MUT_DIR/cache}
SHARED_E2E=$E2E_CACHE
mkdir -p "$MUT_CACHE/results"

log() { printf '[mutants %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

if [ "$(id -u)" -ne 0 ]; then
	echo "SKIP: mutants: needs root (apt-get install of the build tools and emulators)"
	echo "0 passed, 0 failed, 1 skipped"
	exit 0
fi

cases=("$@")
[ ${#cases[@]} -gt 0 ] || read -r -a cases <<<"${MUTANTS:-}"
[ ${#cases[@]} -gt 0 ] || mapfile -t cases < <(awk '!/^#/ && NF {print $1}' "$MUT_DIR/cases")

# nq_mut, built like the e2e workloads against linux-source-6.1's KVM
# selftests library (fetch.sh workloads prepares that tree).
build_nq_mut() {
	local D=$SHARED_E2E/ls/linux-source-6.1/tools/testing/selftests/kvm out=$MUT_CACHE/wl-mut stamp
	stamp=$(md5sum <"$MUT_DIR/workloads/nq_mut.c" | cut -c1-16)
	[ -x "$out/nq_mut" ] && [ -f "$out/.done-$stamp" ] && return 0
	rm -rf "$out" && mkdir -p "$out"
	cp "$MUT_DIR/workloads/nq_mut.c" "$D/x86_64/"
	timeout 600 make -s -C "$D" -j"$(nproc)" LDFLAGS="-static -pthread" \
		TEST_GEN_PROGS_x86_64="x86_64/nq_mut" "$D/x86_64/nq_mut" >"$out/build.log" 2>&1 ||
		{ cat "$out/build.log" >&2; return 1; }
	cp "$D/x86_64/nq_mut" "$out/" && touch "$out/.done-$stamp"
}

prepare() {
	[ -x "$NQ" ] || make -C "$ROOT" -s >/dev/null || return 1
	bash "$E2E_DIR/fetch.sh" host >&2 && bash "$E2E_DIR/fetch.sh" workloads >&2 &&
		bash "$E2E_DIR/fetch.sh" bochs3 >&2 && build_nq_mut
}

# kind=count pairs of the replay summary, e.g. "ack_in_vmcs02=8"
kinds_of() { jq -r 'select(.type=="summary") | .violations_by_kind | to_entries[] | select(.value > 0) | "\(.key)=\(.value)"' "$1" | sort | tr '\n' ' '; }

run_case() { # case kernel emu wlmode expect
	local c=$1 kname=$2 emu=$3 wl=$4 expect=$5 kdir priv res out t0 got want k
	res=$MUT_CACHE/results/$c
	rm -rf "$res" && mkdir -p "$res"
	t0=$(date +%s)
	if ! kdir=$(bash "$MUT_DIR/build.sh" "$kname" 2>"$res/build.log"); then
		tail -20 "$res/build.log"
		echo "FAIL: mutant $c: kernel $kname did not build"
		return
	fi
	echo "$(($(date +%s) - t0))" >"$res/build_seconds"
	# The private e2e cache of this case.
	priv=$MUT_CACHE/e2e/$c
	rm -rf "$priv" && mkdir -p "$priv/k" "$priv/wl"
	ln -s "$kdir" "$priv/k/6.12"
	for d in bochs3 ls apt src; do [ -e "$SHARED_E2E/$d" ] && ln -s "$SHARED_E2E/$d" "$priv/$d"; done
	cp -a "$SHARED_E2E"/wl/. "$priv/wl/"
	local cmdline="nq.steptimeout=10"
	if [ "$wl" != - ]; then
		cp "$MUT_CACHE/wl-mut/nq_mut" "$priv/wl/nq_vmx_irq"
		cmdline="$cmdline nq.wlmode=$wl"
	fi
	log "case $c: kernel $kname ($(cat "$kdir/release")), $emu, workload ${wl/-/nq_vmx_irq}"
	t0=$(date +%s)
	E2E_CACHE=$priv E2E_CMDLINE="$cmdline" timeout -s KILL 1500 \
		bash "$E2E_DIR/run.sh" "$emu" 6.12 >"$res/e2e.log" 2>&1
	echo "$(($(date +%s) - t0))" >"$res/run_seconds"
	out=$priv/runs/$emu-6.12
	cp "$out/serial.txt" "$res/" 2>/dev/null
	grep '^NQ_WORKLOAD' "$res/serial.txt" >"$res/workload.txt" 2>/dev/null
	grep '^NQ_E2E_DMESG' "$res/serial.txt" >"$res/dmesg.txt" 2>/dev/null
	# The trace, whether or not the guest's workload passed.
	sed -n '/^NQ_E2E_TRACE_BEGIN/,/^NQ_E2E_TRACE_END/p' "$res/serial.txt" 2>/dev/null | sed '1d;$d' |
		base64 -d 2>/dev/null | gzip -dc >"$res/t.bin" 2>/dev/null
	if [ ! -s "$res/t.bin" ]; then
		grep -E '^(PASS|FAIL|SKIP):' "$res/e2e.log"
		tail -30 "$res/e2e.log"
		echo "FAIL: mutant $c: no trace came back ($(cat "$res/run_seconds") s; see $res)"
		return
	fi
	"$NQ" replay "$res/t.bin" >"$res/replay.txt" 2>&1
	"$NQ" replay --json "$res/t.bin" >"$res/replay.json" 2>/dev/null
	got=$(kinds_of "$res/replay.json")
	echo "$got" >"$res/kinds"
	local wlline
	wlline=$(grep '^NQ_WORKLOAD ' "$res/workload.txt" | head -n1 | cut -c1-200)
	local ok=1
	if [ "$expect" = none ]; then
		[ -z "$got" ] || ok=0
	else
		want=$(tr ',' '\n' <<<"$expect" | sort | tr '\n' ' ')
		[ "$(for k in $got; do echo "${k%%=*}"; done | sort | tr '\n' ' ')" = "$want" ] || ok=0
	fi
	if [ $ok = 1 ]; then
		echo "PASS: mutant $c: kernel $kname under $emu: violations {${got:-none}} as expected ($(cat "$res/run_seconds") s run, $(cat "$res/build_seconds") s build)"
	else
		echo "FAIL: mutant $c: kernel $kname under $emu: violations {${got:-none}}, expected {$expect}"
		echo "    workload: ${wlline:-none}"
		grep '^VIOLATION' "$res/replay.txt" | head -5 | sed 's/^/    /'
	fi
	[ "${MUT_SAVE:-0}" = 1 ] && bash "$MUT_DIR/record.sh" "$c" "$res"
}

log_file=$(mktemp /tmp/nq-mutants.XXXXXX)
trap 'rm -f "$log_file"' EXIT
{
	if prepare >"$MUT_CACHE/prepare.log" 2>&1; then
		echo "PASS: mutants: host tools, e2e workloads, bochs 3.0 and nq_mut ready"
		for c in "${cases[@]}"; do
			line=$(awk -v c="$c" '!/^#/ && $1 == c' "$MUT_DIR/cases")
			if [ -z "$line" ]; then
				echo "FAIL: mutant $c: no such case in tests/mutants/cases"
				continue
			fi
			# shellcheck disable=SC2086
			run_case $line
		done
	else
		tail -30 "$MUT_CACHE/prepare.log"
		echo "FAIL: mutants: preparation (see $MUT_CACHE/prepare.log)"
	fi
} 2>&1 | tee "$log_file"
p=$(grep -c '^PASS: ' "$log_file")
f=$(grep -c '^FAIL: ' "$log_file")
s=$(grep -c '^SKIP: ' "$log_file")
echo "$p passed, $f failed, $s skipped"
[ "$f" -eq 0 ]
