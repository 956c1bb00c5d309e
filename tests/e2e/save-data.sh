#!/usr/bin/env bash
# save-data.sh RUN...   (e.g. qemu-6.1 bochs3apicv-6.12)
# A run of an upstream selftest (run.sh with E2E_SELFTEST=NAME) becomes
# tests/data/e2e_EMU_nISA_SERIES_NAME.{jsonl,expect}; it is saved when the
# selftest passed and replay finds no lost record, with the violations and
# findings the engine reports listed in the .expect.
# Turns the trace of a passed end-to-end run (cache/runs/RUN/t.bin) into a
# replay fixture: tests/data/e2e_EMU_nISA_SERIES.jsonl (JSON lines; the kvm_nested_vmexit
# events of L0's own interrupts while L2 spins, hardware exit reason 1 on
# nVMX, are filtered out: thousands of them, no bearing on the invariants)
# and the matching .expect in tests/scenarios' format: no violation
# (unlisted kinds must be 0) and the engine's counters of this stream.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
[ $# -gt 0 ] || e2e_die "usage: save-data.sh RUN..."
for run in "$@"; do
	d=$E2E_CACHE/runs/$run
	[ -s "$d/t.bin" ] || e2e_die "$run: no trace ($d/t.bin)"
	isa=$(jq -r .isa "$d/doctor.json")
	base=$ROOT/tests/data/e2e_${run%-*}_n${isa}_${run##*-} # e.g. e2e_bochs3_nvmx_6.12
	st=$(sed -n 's/^NQ_E2E_CHECK_BEGIN //p' "$d/serial.txt" | head -n1)
	if [ -n "$st" ]; then
		grep -q '^ok [0-9]* - workload' "$d/check.tap" || e2e_die "$run: selftest $st did not pass; not saving it"
		base=${base}_$st
		wl="upstream selftest $st under nestirq check"
	else
		grep -q '^PASS: .*replay: 0 violations' <(bash "$E2E_DIR/check.sh" "$d" "${run%-*}" "${run##*-}" 2>/dev/null) ||
			e2e_die "$run: check.sh does not pass; not saving it"
		wl=$(grep '^NQ_WORKLOAD isa=' "$d/workload.txt" | cut -d' ' -f2-7)
	fi
	kernel=$(jq -r .kernel "$d/doctor.json")
	apicv=$(sed -n 's/^NQ_E2E_PARAM kvm_intel.enable_apicv=//p' "$d/serial.txt" | head -n1)
	{
		echo "# Recorded by tests/e2e (run.sh ${run%-*} ${run##*-}) on $kernel; workload: $wl"
		echo "# kvm_nested_vmexit events with hardware exit reason 1 (L0's own interrupts) filtered out."
		"$NQ" convert --to jsonl "$d/t.bin" - | jq -c 'select(.kind == null or .kind != "hw_nested_vmexit" or .isa == "svm" or .reason != 1)'
	} >"$base.jsonl"
	rj=$("$NQ" replay --json "$base.jsonl")
	sum=$(echo "$rj" | jq -c 'select(.type == "summary")')
	[ -n "$st" ] || [ "$(echo "$sum" | jq .violations)" = 0 ] || e2e_die "$run: the filtered stream has violations"
	[ "$(echo "$sum" | jq .lost)" = 0 ] || e2e_die "$run: the stream has lost records"
	stats="pairs checks exits_no_ack busy_peeks svm_intr_exits svi_deferred svi_l2_state lost acks_unknown_irr unterminated_checks"
	[ -n "$st" ] && stats="$stats svi_guarded"
	{
		echo "# Real-kernel stream from tests/e2e (tests/e2e/save-data.sh $run): $kernel,"
		echo "# ${run%-*}${apicv:+, kvm_intel enable_apicv=$apicv}; $wl."
		echo "# The engine's verdict and counters of this stream when it was recorded:"
		echo "$rj" | jq -r 'select(.type == "violation") | .kind' | sort | uniq -c | awk '{print "violation", $2, $1}'
		echo "$rj" | jq -r 'select(.type == "finding" or .type == "info") | .kind' | sort | uniq -c | awk '{print "info", $2, $1}'
		for k in $stats; do
			echo "stat $k $(echo "$sum" | jq -r ".$k")"
		done
	} >"$base.expect"
	e2e_log "$run: $(wc -l <"$base.jsonl") lines -> ${base#"$ROOT"/}.{jsonl,expect}"
done
