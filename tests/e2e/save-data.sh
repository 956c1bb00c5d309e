#!/usr/bin/env bash
# save-data.sh RUN...   (e.g. qemu-6.1 bochs3apicv-6.12)
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
	grep -q '^PASS: .*replay: 0 violations' <(bash "$E2E_DIR/check.sh" "$d" "${run%-*}" "${run##*-}" 2>/dev/null) ||
		e2e_die "$run: check.sh does not pass; not saving it"
	isa=$(jq -r .isa "$d/doctor.json")
	base=$ROOT/tests/data/e2e_${run%-*}_n${isa}_${run##*-} # e.g. e2e_bochs3_nvmx_6.12
	wl=$(grep '^NQ_WORKLOAD isa=' "$d/workload.txt" | cut -d' ' -f2-7)
	kernel=$(jq -r .kernel "$d/doctor.json")
	apicv=$(sed -n 's/^NQ_E2E_PARAM kvm_intel.enable_apicv=//p' "$d/serial.txt" | head -n1)
	{
		echo "# Recorded by tests/e2e (run.sh ${run%-*} ${run##*-}) on $kernel; workload: $wl"
		echo "# kvm_nested_vmexit events with hardware exit reason 1 (L0's own interrupts) filtered out."
		"$NQ" convert --to jsonl "$d/t.bin" - | jq -c 'select(.kind == null or .kind != "hw_nested_vmexit" or .isa == "svm" or .reason != 1)'
	} >"$base.jsonl"
	sum=$("$NQ" replay --json "$base.jsonl" | jq -c 'select(.type == "summary")')
	[ "$(echo "$sum" | jq .violations)" = 0 ] || e2e_die "$run: the filtered stream has violations"
	{
		echo "# Real-kernel stream from tests/e2e (tests/e2e/save-data.sh $run): $kernel,"
		echo "# ${run%-*}${apicv:+, kvm_intel enable_apicv=$apicv}; $wl."
		echo "# No violation; the engine's counters of this stream:"
		for k in pairs checks exits_no_ack busy_peeks svm_intr_exits svi_deferred svi_l2_state lost acks_unknown_irr unterminated_checks; do
			echo "stat $k $(echo "$sum" | jq -r ".$k")"
		done
	} >"$base.expect"
	e2e_log "$run: $(wc -l <"$base.jsonl") lines -> ${base#"$ROOT"/}.{jsonl,expect}"
done
