#!/usr/bin/env bash
# `nestirq replay` and `nestirq convert` as a user runs them: verdicts, exit
# codes, JSON output, damaged and foreign files, bad flags.
cd "$(dirname "$0")/../.." || exit 1
. tests/cli/lib.sh
S=tests/scenarios

t=demo_reports_both_bugs
out=$("$NQ" replay $S/demo.jsonl 2>"$TMP/err"); rc=$?
if expect_rc $t 1 $rc; then
	if grep -q '^VIOLATION vector_mismatch (I3) vm=4242 vcpu=0' <<<"$out" &&
		grep -q '^VIOLATION svi_in_vmcs02 (I1)' <<<"$out" &&
		grep -q 'evidence: .* irq_accept vector=0x41' <<<"$out" &&
		grep -qE '^  violations +2$' <<<"$out"; then pass $t; else fail $t "report lacks the violations: $out"; fi
fi

t=clean_trace_passes
out=$("$NQ" replay $S/clean_6.12.jsonl); rc=$?
expect_rc $t 0 $rc && { grep -q '^verdict: PASS' <<<"$out" && pass $t || fail $t "no PASS verdict"; }

t=json_output_is_json_lines
"$NQ" replay --json $S/demo.jsonl >"$TMP/j"; rc=$?
if expect_rc $t 1 $rc; then
	if jq -e . "$TMP/j" >/dev/null &&
		[ "$(jq -r 'select(.type=="violation") | .kind' "$TMP/j" | sort | tr '\n' ' ')" = "svi_in_vmcs02 vector_mismatch " ] &&
		[ "$(jq -r 'select(.type=="summary") | .violations_by_kind.vector_mismatch' "$TMP/j")" = 1 ] &&
		[ "$(jq -r 'select(.type=="summary") | .verdict' "$TMP/j")" = fail ] &&
		[ "$(jq -r 'select(.type=="trace") | .flow' "$TMP/j")" = "6.12+" ]; then
		pass $t
	else fail $t "unexpected JSON: $(cat "$TMP/j")"; fi
fi

# <= 6.11 decides nothing at the peek: a peek that differs from the ack is the
# hardware-faithful race window, an informational finding that never fails.
t=race_window_611_is_info_not_violation
"$NQ" replay --json $S/toctou_6.11.jsonl >"$TMP/r"; rc=$?
if expect_rc $t 0 $rc; then
	if [ "$(jq -r 'select(.type=="finding") | .severity + " " + .kind' "$TMP/r")" = "info race_window" ] &&
		[ "$(jq -r 'select(.type=="summary") | .race_window_hits' "$TMP/r")" = 1 ] &&
		[ "$(jq -r 'select(.type=="summary") | .violations' "$TMP/r")" = 0 ] &&
		"$NQ" replay $S/toctou_6.11.jsonl | grep -q '^INFO race_window'; then
		pass $t
	else fail $t "unexpected: $(cat "$TMP/r")"; fi
fi

t=damaged_trace_never_says_pass
head -c 1200 $S/clean_6.12.jsonl >"$TMP/cut.jsonl"
out=$("$NQ" replay "$TMP/cut.jsonl" 2>/dev/null); rc=$?
if expect_rc $t 3 $rc; then
	if grep -q '^verdict: DAMAGED trace: line [0-9]*: .*records before the damage were analysed' <<<"$out" &&
		! grep -q 'PASS' <<<"$out"; then pass $t; else fail $t "$out"; fi
fi

t=binary_round_trip_same_verdict
if "$NQ" convert $S/multi_vm.jsonl "$TMP/m.bin" && "$NQ" convert "$TMP/m.bin" "$TMP/m.jsonl"; then
	a=$("$NQ" replay --json --quiet $S/multi_vm.jsonl)
	b=$("$NQ" replay --json --quiet "$TMP/m.bin")
	c=$("$NQ" replay --json --quiet "$TMP/m.jsonl")
	if [ -n "$a" ] && [ "$a" = "$b" ] && [ "$a" = "$c" ]; then pass $t; else fail $t "verdicts differ: $a / $b / $c"; fi
else fail $t "convert failed"; fi

t=stdin_input
out=$("$NQ" replay --quiet - <$S/clean_6.11.jsonl); rc=$?
expect_rc $t 0 $rc && { grep -qE '^  pairs +2$' <<<"$out" && pass $t || fail $t "$out"; }

t=truncated_binary_named_and_analysed
# 2000 copies of a clean exit: several blocks, then cut in the middle.
{ head -1 $S/clean_6.12.jsonl; for i in $(seq 2000); do grep -v '^[#{]"nestirq' $S/clean_6.12.jsonl | grep '^{'; done; } >"$TMP/big.jsonl"
if "$NQ" convert "$TMP/big.jsonl" "$TMP/big.bin"; then
	size=$(stat -c %s "$TMP/big.bin")
	head -c $((size / 2)) "$TMP/big.bin" >"$TMP/cut.bin"
	"$NQ" replay --json --quiet "$TMP/cut.bin" >"$TMP/cut.out" 2>"$TMP/cut.err"; rc=$?
	events=$(jq -r .events "$TMP/cut.out" 2>/dev/null)
	if expect_rc $t 3 $rc; then
		if [ "$(wc -l <"$TMP/cut.err")" -eq 1 ] && grep -q "cut.bin: offset [0-9]*: " "$TMP/cut.err" &&
			[ "${events:-0}" -gt 1000 ]; then pass $t
		else fail $t "stderr '$(cat "$TMP/cut.err")', events '$events'"; fi
	fi
else fail $t "convert failed"; fi

t=corrupt_block_named
cp "$TMP/big.bin" "$TMP/flip.bin"
printf '\xff\xff\xff\xff' | dd of="$TMP/flip.bin" bs=1 seek=$((size - 3000)) conv=notrunc status=none
"$NQ" replay --quiet "$TMP/flip.bin" >/dev/null 2>"$TMP/flip.err"; rc=$?
expect_rc $t 3 $rc && { grep -qi 'offset [0-9]*: .*crc' "$TMP/flip.err" && pass $t || fail $t "$(cat "$TMP/flip.err")"; }

t=foreign_file_rejected
"$NQ" replay /bin/true >/dev/null 2>"$TMP/f.err"; rc=$?
expect_rc $t 2 $rc && { [ "$(wc -l <"$TMP/f.err")" -eq 1 ] && grep -q 'offset 0: ' "$TMP/f.err" && pass $t || fail $t "$(cat "$TMP/f.err")"; }

t=bad_jsonl_line_named
printf '{"ts":1,"vm":1,"tid":1,"vcpu":0,"kind":"akc","vector":1}\n' >"$TMP/bad.jsonl"
"$NQ" replay "$TMP/bad.jsonl" >/dev/null 2>"$TMP/b.err"; rc=$?
expect_rc $t 3 $rc && { grep -q 'line 1: ' "$TMP/b.err" && pass $t || fail $t "$(cat "$TMP/b.err")"; }

t=missing_file
"$NQ" replay "$TMP/nope" >/dev/null 2>"$TMP/n.err"; rc=$?
expect_rc $t 2 $rc && { grep -q 'nope' "$TMP/n.err" && pass $t || fail $t "$(cat "$TMP/n.err")"; }

t=bad_flags
ok=1
for args in "replay --bogus x" "replay" "replay a b" "replay --max-vcpus 0 x" "replay --max-vcpus abc x" "frobnicate" ""; do
	# shellcheck disable=SC2086
	"$NQ" $args >/dev/null 2>"$TMP/u.err"; rc=$?
	if [ $rc -ne 2 ] || [ "$(wc -l <"$TMP/u.err")" -lt 1 ]; then ok=0; echo "    '$args' -> $rc"; fi
done
[ $ok = 1 ] && pass $t || fail $t "usage errors must exit 2 with a message"

t=help
"$NQ" replay --help | grep -q '^usage: nestirq replay' && "$NQ" --help | grep -q replay && pass $t || fail $t "no usage"

finish
