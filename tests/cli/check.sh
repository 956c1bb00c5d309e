#!/usr/bin/env bash
# `nestirq check` as a CI gate: TAP 13 and JUnit output, SKIPs for what the
# attached probes cannot prove, exit codes, --require, workloads, --replay.
set -u
cd "$(dirname "$0")/../.." || exit 2
. tests/cli/lib.sh
S=tests/scenarios

# A minimal TAP 13 validator: version line, one plan, numbered points in
# order, YAML blocks only after "not ok", counts matching the plan.
tap_valid() { # file -> prints a reason and fails, or succeeds
	python3 - "$1" <<'PY'
import re, sys
lines = open(sys.argv[1]).read().split("\n")
if lines[-1] == "": lines.pop()
assert lines[0] == "TAP version 13", "first line %r" % lines[0]
plan = [l for l in lines if re.match(r"^1\.\.\d+", l)]
assert len(plan) == 1, "plans: %r" % plan
n = int(re.match(r"^1\.\.(\d+)", plan[0]).group(1))
num, i, last_not_ok = 0, 1, False
while i < len(lines):
    l = lines[i]
    m = re.match(r"^(not ok|ok) (\d+) - (\S.*)$", l)
    if m:
        num += 1
        assert int(m.group(2)) == num, "point %s out of order" % m.group(2)
        last_not_ok = m.group(1) == "not ok"
        if "# SKIP" in l: assert m.group(1) == "ok", "not ok with SKIP"
    elif l == "  ---":
        assert last_not_ok, "YAML block after an ok point"
        j = lines.index("  ...", i)
        for y in lines[i + 1:j]: assert y.startswith("  "), "YAML not indented: %r" % y
        i = j
    elif not (l.startswith("#") or re.match(r"^1\.\.\d+", l)):
        raise AssertionError("stray line %r" % l)
    i += 1
assert num == n, "%d points for plan 1..%d" % (num, n)
PY
}

junit_check() { # file tests failures skipped
	python3 - "$@" <<'PY'
import sys, xml.etree.ElementTree as E
f, tests, failures, skipped = sys.argv[1], *map(int, sys.argv[2:])
root = E.parse(f).getroot()
assert root.tag == "testsuites", root.tag
suites = root.findall("testsuite")
assert len(suites) == 1
s = suites[0]
cases = s.findall("testcase")
got = (len(cases), len([c for c in cases if c.find("failure") is not None]),
       len([c for c in cases if c.find("skipped") is not None]))
assert got == (tests, failures, skipped), "cases/failures/skipped %r, want %r" % (got, (tests, failures, skipped))
assert (int(s.get("tests")), int(s.get("failures")), int(s.get("skipped"))) == got, "suite counts disagree"
for c in cases:
    fl = c.find("failure")
    if fl is not None: assert fl.get("message") and fl.text and "evidence" in fl.text, "failure without evidence"
PY
}

# <= 6.11 acks and reports the highest vector at exit, as hardware does: the
# race window is information, and the gate passes.
t=replay_race_window_611_passes
"$NQ" check --replay $S/toctou_6.11.jsonl >"$TMP/w.tap" 2>"$TMP/w.err"; rc=$?
if expect_rc $t 0 $rc; then
	if grep -q '^not ok' "$TMP/w.tap"; then fail $t "$(cat "$TMP/w.tap")"; else pass $t; fi
fi

# The TOCTOU on a real 6.12 mutant kernel: 0x41 decided and reported, 0x92 acked.
t=replay_toctou_fails_vector_mismatch
"$NQ" check --replay tests/data/mutant_toctou.jsonl --junit "$TMP/r.xml" >"$TMP/r.tap" 2>"$TMP/r.err"; rc=$?
if expect_rc $t 1 $rc; then
	if ! why=$(tap_valid "$TMP/r.tap" 2>&1); then fail $t "invalid TAP: $why"
	elif ! grep -q '^not ok 1 - vector_mismatch (I3)$' "$TMP/r.tap"; then fail $t "$(cat "$TMP/r.tap")"
	elif [ "$(grep -c '^not ok' "$TMP/r.tap")" != 1 ]; then fail $t "other points: $(cat "$TMP/r.tap")"
	# Recorded before the SVI return probe existed: a deferral cannot be seen in it.
	elif [ "$(grep -c 'SKIP' "$TMP/r.tap")" != 1 ] || ! grep -q '^ok 7 - svi_deferred_lost (I1) # SKIP needs probe svi_return' "$TMP/r.tap"; then fail $t "skips: $(cat "$TMP/r.tap")"
	elif ! grep -q '^  evidence:' "$TMP/r.tap" || ! grep -q 'irq_accept vector=0x92' "$TMP/r.tap"; then fail $t "no evidence in the YAML block"
	elif ! why=$(junit_check "$TMP/r.xml" 8 1 1 2>&1); then fail $t "JUnit: $why"
	else pass $t; fi
fi

t=replay_clean_passes
"$NQ" check --replay $S/clean_6.12.jsonl --junit "$TMP/c.xml" >"$TMP/c.tap"; rc=$?
if expect_rc $t 0 $rc; then
	if why=$(tap_valid "$TMP/c.tap" 2>&1) && ! grep -q '^not ok' "$TMP/c.tap" && junit_check "$TMP/c.xml" 8 0 0; then
		pass $t
	else fail $t "$why $(cat "$TMP/c.tap")"; fi
fi

t=replay_every_scenario_agrees_with_replay
bad=
for f in $S/*.jsonl; do
	"$NQ" replay --quiet "$f" >/dev/null 2>&1; a=$?
	"$NQ" check --replay "$f" >"$TMP/s.tap" 2>/dev/null; b=$?
	tap_valid "$TMP/s.tap" >/dev/null 2>&1 || bad="$bad $(basename "$f"):tap"
	[ "$a" = "$b" ] || bad="$bad $(basename "$f"):$a/$b"
	# each kind replay reports is the one check fails
	for k in $("$NQ" replay --json --quiet "$f" | jq -r '.violations_by_kind | to_entries[] | select(.value > 0) | .key'); do
		grep -q "^not ok [0-9]* - $k " "$TMP/s.tap" || bad="$bad $(basename "$f"):$k"
	done
done
[ -z "$bad" ] && pass $t || fail $t "disagree:$bad"

t=usage_errors
ok=1
"$NQ" check >/dev/null 2>"$TMP/e"; [ $? = 2 ] && grep -q 'say how long' "$TMP/e" || ok=0
"$NQ" check --duration xyz >/dev/null 2>&1; [ $? = 2 ] || ok=0
"$NQ" check --require nonsense --duration 1 >/dev/null 2>"$TMP/e"; [ $? = 2 ] && grep -q "unknown invariant 'nonsense'" "$TMP/e" || ok=0
"$NQ" check --replay $S/demo.jsonl --duration 1 >/dev/null 2>&1; [ $? = 2 ] || ok=0
"$NQ" check --replay "$TMP/absent" >/dev/null 2>&1; [ $? = 2 ] || ok=0
"$NQ" check --replay $S/demo.jsonl --junit /nonexistent/dir/x.xml >/dev/null 2>&1; [ $? = 2 ] || ok=0
"$NQ" check --bogus >/dev/null 2>&1; [ $? = 2 ] || ok=0
[ $ok = 1 ] && pass $t || fail $t "a usage error did not exit 2 with its message"

t=replay_require_met
"$NQ" check --replay $S/demo.jsonl --require vector_mismatch --require svi_in_vmcs02,multiple_acks >"$TMP/q.tap"; rc=$?
expect_rc $t 1 $rc && { grep -q '^not ok .* svi_in_vmcs02' "$TMP/q.tap" && pass $t || fail $t "$(cat "$TMP/q.tap")"; }

live_why=
if [ "$(id -u)" != 0 ]; then live_why="not root"
elif [ ! -e /sys/kernel/btf/vmlinux ]; then live_why="no BPF"
fi
if [ -n "$live_why" ]; then
	for t in live_duration_tap live_require_unavailable live_workload_status live_workload_time_limit live_no_privilege_is_unsupported live_workload_not_found; do
		skip $t "$live_why"
	done
	finish
fi
kprobes=0
[ -e /sys/bus/event_source/devices/kprobe ] && kprobes=1

t=live_duration_tap
"$NQ" check --duration 2s --junit "$TMP/l.xml" >"$TMP/l.tap" 2>"$TMP/l.err"; rc=$?
if expect_rc $t 0 $rc; then
	nskip=$(grep -c '^ok [0-9]* - .* # SKIP needs probe' "$TMP/l.tap")
	npoints=$(grep -cE '^(not )?ok ' "$TMP/l.tap")
	if ! why=$(tap_valid "$TMP/l.tap" 2>&1); then fail $t "invalid TAP: $why"
	elif grep -q '^not ok' "$TMP/l.tap"; then fail $t "$(cat "$TMP/l.tap")"
	elif [ $kprobes = 0 ] && [ "$nskip" != 7 ]; then fail $t "expected the 7 kprobe-dependent kinds skipped: $(cat "$TMP/l.tap")"
	elif ! grep -q '^ok [0-9]* - probes_attached$' "$TMP/l.tap" || ! grep -q '^ok [0-9]* - no_lost_events$' "$TMP/l.tap"; then
		fail $t "run points did not pass: $(cat "$TMP/l.tap")"
	elif ! why=$(junit_check "$TMP/l.xml" "$npoints" 0 "$nskip" 2>&1); then fail $t "JUnit: $why"
	else pass $t; fi
fi

t=live_require_unavailable
if [ $kprobes = 1 ]; then
	skip $t "this kernel has kprobes: vector_mismatch may be checkable"
else
	"$NQ" check --duration 1 --require vector_mismatch --junit "$TMP/q.xml" >"$TMP/q.tap" 2>"$TMP/q.err"; rc=$?
	if expect_rc $t 4 $rc; then
		if grep -q '^nestirq check: --require vector_mismatch: cannot be checked on this host: needs probe check_vmx' "$TMP/q.err" &&
			grep -q '^1\.\.0 # SKIP --require vector_mismatch' "$TMP/q.tap" && junit_check "$TMP/q.xml" 1 0 1; then
			pass $t
		else fail $t "$(cat "$TMP/q.err" "$TMP/q.tap")"; fi
	fi
fi

t=live_workload_status
"$NQ" check -- sh -c 'echo workload-out; exit 3' >"$TMP/w.tap" 2>"$TMP/w.err"; rc=$?
if expect_rc $t 1 $rc; then
	if tap_valid "$TMP/w.tap" >/dev/null && ! grep -q workload-out "$TMP/w.tap" && grep -q workload-out "$TMP/w.err" &&
		grep -q '^not ok [0-9]* - workload$' "$TMP/w.tap" && grep -q '  exit_status: "3"' "$TMP/w.tap" &&
		"$NQ" check -- true >/dev/null 2>&1; then
		pass $t
	else fail $t "$(cat "$TMP/w.tap")"; fi
fi

t=live_workload_time_limit
start=$(date +%s)
"$NQ" check --duration 1 -- sleep 30 >"$TMP/tl.tap" 2>/dev/null; rc=$?
took=$(($(date +%s) - start))
if expect_rc $t 1 $rc; then
	if [ $took -le 10 ] && grep -q '^# workload: signal 15$' "$TMP/tl.tap" && grep -q '^not ok [0-9]* - workload$' "$TMP/tl.tap"; then
		pass $t
	else fail $t "took ${took}s: $(cat "$TMP/tl.tap")"; fi
fi

t=live_no_privilege_is_unsupported
if ! command -v setpriv >/dev/null; then
	skip $t "no setpriv"
else
	setpriv --bounding-set=-all "$NQ" check --duration 1 --junit "$TMP/np.xml" >"$TMP/np.tap" 2>"$TMP/np.err"; rc=$?
	if expect_rc $t 4 $rc; then
		if grep -q '^1\.\.0 # SKIP loading BPF failed' "$TMP/np.tap" && tap_valid "$TMP/np.tap" && junit_check "$TMP/np.xml" 1 0 1; then
			pass $t
		else fail $t "$(cat "$TMP/np.tap" "$TMP/np.err")"; fi
	fi
fi

t=live_workload_not_found
"$NQ" check -- /nonexistent/cmd >/dev/null 2>"$TMP/n.err"; rc=$?
expect_rc $t 2 $rc && { grep -q "cannot run '/nonexistent/cmd'" "$TMP/n.err" && pass $t || fail $t "$(cat "$TMP/n.err")"; }
finish
