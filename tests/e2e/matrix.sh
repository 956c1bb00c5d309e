#!/usr/bin/env bash
# matrix.sh [RUN...]   (make e2e)
# The full end-to-end matrix, or the runs named (EMULATOR-SERIES, e.g.
# qemu-6.12 bochs-6.1).  Each run prints PASS:/FAIL:/SKIP: lines; the last
# line is "N passed, N failed, N skipped".  Needs root (KVM modules are only
# loaded inside the emulated guests; the host itself is never changed beyond
# `apt-get install` of the emulators).
#   qemu-6.1 qemu-6.12     QEMU TCG, nSVM (kvm_amd)
#   bochs-6.1 bochs-6.12   Bochs 2.7 (Debian 12), nVMX without APICv
#   bochs3-6.1 bochs3-6.12 Bochs 3.0 (trixie source + PI-descriptor fix), nVMX
#   bochs3apicv-SERIES     the same with APICv (enable_apicv=1)
#   newer kernels (6.12.117, 6.16, 7.3): qemu and bochs3apicv, newest first
set -uo pipefail
. "$(dirname "$0")/lib.sh"
runs=("$@")
[ ${#runs[@]} -gt 0 ] || runs=(qemu-7.3 bochs3apicv-7.3 qemu-6.16 bochs3apicv-6.16 qemu-6.12.117 bochs3apicv-6.12.117
	qemu-6.1 qemu-6.12 bochs3-6.1 bochs3-6.12 bochs3apicv-6.1 bochs3apicv-6.12 bochs-6.1 bochs-6.12)
if [ "$(id -u)" -ne 0 ]; then
	echo "SKIP: e2e: needs root (apt-get install of the emulators)"
	echo "0 passed, 0 failed, 1 skipped"
	exit 0
fi
log=$(mktemp /tmp/nq-e2e.XXXXXX)
trap 'rm -f "$log"' EXIT
{
	e2e_host_pkgs jq && echo "PASS: e2e: host tools present" || echo "FAIL: e2e: host tools"
	for r in "${runs[@]}"; do
		t0=$(date +%s)
		timeout -s KILL "${E2E_RUN_TIMEOUT:-2400}" bash "$E2E_DIR/run.sh" "${r%-*}" "${r##*-}"
		[ $? -eq 137 ] && echo "FAIL: $r: killed after ${E2E_RUN_TIMEOUT:-2400} s"
		e2e_log "$r: $(($(date +%s) - t0)) s in total"
	done
} 2>&1 | tee "$log"
p=$(grep -c '^PASS: ' "$log")
f=$(grep -c '^FAIL: ' "$log")
s=$(grep -c '^SKIP: ' "$log")
echo "$p passed, $f failed, $s skipped"
[ "$f" -eq 0 ]
