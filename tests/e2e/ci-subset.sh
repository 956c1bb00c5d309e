#!/usr/bin/env bash
# ci-subset.sh: the fast end-to-end subset for CI (tests/cli/e2e_subset.sh
# runs it inside `make test`): one QEMU TCG nSVM run and Bochs nested-VMX
# runs of each flow (Bochs 3.0, built here in about 3 min): 6.1 (old flow,
# with the no-ack-on-exit path), 6.12.95 with APICv and 7.3.4 with APICv
# (the vmcs01-guard kernels), so real SVI writes are checked on every CI run.
# The 7.3 run adds about 50 s of kernel download and 100-200 s of Bochs.
# E2E_SUBSET overrides the list.  Prints PASS:/FAIL:/SKIP: lines.
set -uo pipefail
exec bash "$(dirname "$0")/matrix.sh" ${E2E_SUBSET:-qemu-6.12 bochs3-6.1 bochs3apicv-6.12 bochs3apicv-7.3}
