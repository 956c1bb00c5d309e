#!/usr/bin/env bash
# ci-subset.sh: the fast end-to-end subset for CI (tests/cli/e2e_subset.sh
# runs it inside `make test`): one QEMU TCG nSVM run and one Bochs nested-VMX
# run, E2E_SUBSET overrides the list.  Prints PASS:/FAIL:/SKIP: lines.
set -uo pipefail
exec bash "$(dirname "$0")/matrix.sh" ${E2E_SUBSET:-qemu-6.1 qemu-6.12}
