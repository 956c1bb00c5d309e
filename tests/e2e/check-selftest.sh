#!/usr/bin/env bash
# check-selftest.sh RUNDIR EMULATOR SERIES TEST
# Assertions over a run of upstream's KVM selftest TEST under
# `nestirq check -- TEST` in the guest (run.sh E2E_SELFTEST=TEST):
#  1. the selftest passed (TAP point "workload" is ok);
#  2. nestirq check's own TAP: every point ok or SKIP (no violation);
#  3. `nestirq replay` of the trace recorded around it: zero violations,
#     zero lost records.  Findings that are not violations are printed.
set -uo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
d=${1:?rundir}
emu=${2:?emulator}
series=${3:?series}
st=${4:?selftest}
name=$emu-$series-$st
rc=0
pass() { echo "PASS: $name: $1"; }
fail() {
	echo "FAIL: $name: $1"
	rc=1
}

sed -n '/^NQ_E2E_CHECK_BEGIN/,/^NQ_E2E_CHECK_END/p' "$d/serial.txt" | sed '1d;$d' >"$d/check.tap"
crc=$(sed -n 's/^NQ_E2E_CHECK_END rc=//p' "$d/serial.txt")
if grep -q '^ok [0-9]* - workload' "$d/check.tap"; then
	pass "selftest $st passed on $(jq -r .kernel "$d/doctor.json" 2>/dev/null)"
else
	fail "selftest $st did not pass: $(grep 'workload' "$d/check.tap" | head -n1)"
	grep '^NQ_E2E_SELFTEST_OUT' "$d/serial.txt" | tail -n 20
fi
nok=$(grep -c '^not ok' "$d/check.tap")
if [ "$crc" = 0 ] && [ "$nok" -eq 0 ]; then
	pass "nestirq check in the guest: exit 0, $(grep -c '^ok' "$d/check.tap") points ok ($(grep -c '# SKIP' "$d/check.tap") SKIP)"
else
	fail "nestirq check in the guest: exit ${crc:-?}: $(grep '^not ok' "$d/check.tap" | tr '\n' ';')"
fi

"$NQ" replay --json "$d/t.bin" >"$d/replay.json" 2>"$d/replay.err"
sum=$(jq -c 'select(.type == "summary")' "$d/replay.json" 2>/dev/null)
viol=$(echo "$sum" | jq -r .violations 2>/dev/null)
lost=$(echo "$sum" | jq -r .lost 2>/dev/null)
if [ "$viol" = 0 ] && [ "$lost" = 0 ]; then
	pass "replay: 0 violations, 0 lost ($(echo "$sum" | jq -c '{checks, pairs, busy_peeks, svi_deferred, svi_l2_state}'))"
else
	fail "replay: violations ${viol:-?}, lost ${lost:-?}: $(jq -c 'select(.type == "violation")' "$d/replay.json" | head -3)"
fi
jq -c 'select(.type == "finding")' "$d/replay.json" 2>/dev/null | head -5 | sed "s/^/INFO: $name: finding /"
exit $rc
