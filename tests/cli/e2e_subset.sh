#!/usr/bin/env bash
# End-to-end subset on real KVM inside emulators (tests/e2e/ci-subset.sh):
# QEMU TCG nSVM and Bochs nested VMX, Debian kernels, workloads firing MSIs
# at a vCPU whose L2 runs, nestirq doctor + record inside the guest, and the
# trace checked event by event.  About 10 minutes on a fresh 2-core machine.
# NQ_E2E=0 skips it; it needs root (apt-get install of the emulators).
cd "$(dirname "$0")/../.." || exit 2
if [ "${NQ_E2E:-1}" = 0 ]; then
	echo "SKIP: e2e_subset: NQ_E2E=0"
	exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "SKIP: e2e_subset: needs root (apt-get install of qemu-system-x86 and bochs)"
	exit 0
fi
# matrix.sh prints its own closing line; tests/run.sh counts the PASS/FAIL lines.
bash tests/e2e/ci-subset.sh | grep -v '^[0-9]* passed, '
exit "${PIPESTATUS[0]}"
