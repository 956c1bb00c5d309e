#!/usr/bin/env bash
# A violation storm (issue 12 §6): 200,000 SVI-in-vmcs02 violations from one
# VM, plus a few from a second VM.  replay and check print a bounded amount
# (the first 5 of each (kind, VM) in full, then one "suppressed" line per
# 10 s of trace time) while every count in the summary stays exact;
# --all-violations prints every one.  No privilege needed.
set -u
cd "$(dirname "$0")/../.." || exit 2
. tests/cli/lib.sh
N=200000

# svi_update written into vmcs02 by L1's ISR: one I1 violation each, 1 us
# apart (0.2 s of trace time: one interval).  VM 7 adds 3, all shown.
gen() { # n spacing_ns -> trace on stdout
	python3 - "$1" "$2" <<'PY'
import sys
n, step = int(sys.argv[1]), int(sys.argv[2])
w = sys.stdout.write
w('{"nestirq_trace":1,"kernel":"6.12-storm","host":"lab","flow":"6.12+","isa":"vmx"}\n')
rec = ('{"ts":%d,"vm":%d,"tid":%d,"cpu":0,"vcpu":0,"isa":"vmx","kind":"svi_update",'
       '"max_isr":49,"vmcs":"02","outcome":"written","origin":"l1_isr"}\n')
for i in range(n):
    w(rec % (1000 + i * step, 4242, 4250))
for i in range(3):
    w(rec % (1000 + n * step + i, 7, 8))
PY
}
gen $N 1000 >"$TMP/storm.jsonl"
total=$((N + 3))

t=replay_storm_bounded_text
"$NQ" replay "$TMP/storm.jsonl" >"$TMP/out" 2>"$TMP/err"; rc=$?
lines=$(wc -l <"$TMP/out")
nviol=$(grep -c '^VIOLATION svi_in_vmcs02' "$TMP/out")
if expect_rc $t 1 $rc; then
	if [ "$lines" -gt 40 ]; then
		fail $t "$lines lines of output for a storm"
	elif [ "$nviol" != 8 ]; then
		fail $t "$nviol violations shown in full, expected 5 + 3"
	elif ! grep -q "^suppressed $((N - 5)) more svi_in_vmcs02 (I1) violations vm=4242 over 0.199s" "$TMP/out"; then
		fail $t "no exact suppressed line: $(grep suppressed "$TMP/out")"
	elif grep -q 'vm=7 over' "$TMP/out"; then
		fail $t "vm 7's 3 violations were suppressed"
	elif ! grep -qE "^  violations +$total$" "$TMP/out"; then
		fail $t "summary count: $(grep violations "$TMP/out")"
	else
		pass $t
		echo "  $lines lines for $total violations"
	fi
fi

t=replay_storm_json_exact_counts
"$NQ" replay --json "$TMP/storm.jsonl" >"$TMP/out.json"; rc=$?
if expect_rc $t 1 $rc; then
	got=$(jq -s -c '[ (map(select(.type=="violation")) | length),
		(map(select(.type=="suppressed")) | map(.count) | add),
		(.[] | select(.type=="summary") | .violations),
		(.[] | select(.type=="summary") | .violations_by_kind.svi_in_vmcs02),
		(map(select(.type=="violation" and (.evidence | length) > 0)) | length) ]' "$TMP/out.json")
	want="[8,$((N - 5)),$total,$total,8]"
	lines=$(wc -l <"$TMP/out.json")
	[ "$got" = "$want" ] && [ "$lines" -le 12 ] && pass $t ||
		fail $t "violations shown, suppressed, summary, by kind, with evidence: $got, want $want ($lines lines)"
fi

# One line per interval: 30 s of trace time (150 us apart) gives 3 suppressed lines.
t=replay_one_line_per_interval
gen $N 150000 >"$TMP/slow.jsonl"
"$NQ" replay --json "$TMP/slow.jsonl" >"$TMP/slow.json"
got=$(jq -s -c '[ (map(select(.type=="suppressed" and .vm==4242)) | length),
	(map(select(.type=="suppressed")) | map(.count) | add) ]' "$TMP/slow.json")
[ "$got" = "[3,$((N - 5))]" ] && pass $t || fail $t "suppressed lines and sum: $got, want [3,$((N - 5))]"

t=replay_all_violations
"$NQ" replay --all-violations --json "$TMP/storm.jsonl" >"$TMP/all.json"; rc=$?
if expect_rc $t 1 $rc; then
	got=$(grep -c '"type":"violation"' "$TMP/all.json")
	sup=$(grep -c '"type":"suppressed"' "$TMP/all.json")
	[ "$got" = $total ] && [ "$sup" = 0 ] && pass $t || fail $t "$got violations, $sup suppressed lines"
fi

t=check_storm_bounded
"$NQ" check --replay "$TMP/storm.jsonl" >"$TMP/tap" 2>"$TMP/tap.err"; rc=$?
if expect_rc $t 1 $rc; then
	lines=$(wc -l <"$TMP/tap")
	if [ "$lines" -gt 80 ]; then
		fail $t "$lines lines of TAP"
	elif ! grep -q "^  violations: $total$" "$TMP/tap"; then
		fail $t "no exact count: $(grep violations: "$TMP/tap")"
	elif ! grep -q "evidence_shown: \"the first 3 of $total" "$TMP/tap"; then
		fail $t "no evidence bound note"
	elif [ -s "$TMP/tap.err" ]; then
		fail $t "stderr: $(head -n 3 "$TMP/tap.err")"
	else
		pass $t
	fi
fi

t=check_all_violations
"$NQ" check --replay "$TMP/storm.jsonl" --all-violations >"$TMP/tap2" 2>"$TMP/tap2.err"; rc=$?
if expect_rc $t 1 $rc; then
	got=$(grep -c '^VIOLATION svi_in_vmcs02' "$TMP/tap2.err")
	[ "$got" = $total ] && ! grep -q evidence_shown "$TMP/tap2" && pass $t ||
		fail $t "$got violations on stderr, want $total"
fi
finish
