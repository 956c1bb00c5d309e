#!/usr/bin/env bash
# check.sh RUNDIR EMULATOR SERIES
# Assertions over one end-to-end run (files left by run.sh in RUNDIR:
# doctor.json, workload.txt, t.bin).  Prints PASS:/FAIL: lines.
#  1. doctor: every probe point of this kernel's flow is attached.
#  2. the workload passed (L1 saw exactly the vectors the host sent).
#  3. the trace, event by event (jq over `nestirq convert` output):
#     every injected MSI is accepted; every nested external-interrupt exit
#     is accept -> peek -> exit (-> ack) with one vector, in the order of the
#     kernel's flow (<=6.11: ack inside nested_vmx_vmexit, before the inject
#     tracepoint; 6.12+: inject, then kvm_apic_ack_interrupt), with vmcs01
#     loaded at the ack; L1's exit vectors == nestirq's, in order.
#  4. counts match what the workload reports.
#  5. `nestirq replay` finds zero violations.
set -uo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
d=${1:?rundir}
emu=${2:?emulator}
series=${3:?series}
name=$emu-$series
rc=0
pass() { echo "PASS: $name: $1"; }
fail() {
	echo "FAIL: $name: $1"
	rc=1
}

want_flow=$(e2e_series_flow "$series")

# ---- 1. doctor ----
if ! jq -e . "$d/doctor.json" >/dev/null 2>&1; then
	fail "doctor --json gave no JSON: $(head -c 300 "$d/doctor.json")"
else
	isa=$(jq -r .isa "$d/doctor.json")
	flow=$(jq -r .flow "$d/doctor.json")
	# a|b: either point will do (nestirq plans the exact accept kprobe,
	# accept_exact, instead of the tracepoint when it can).
	if [ "$isa" = svm ]; then
		need="accept|accept_exact hw_vmexit inject svm_intr_exit check_svm peek ack"
	else
		need="accept|accept_exact hw_vmexit inject check_vmx peek ack svi vmcs_switch vmx_state"
	fi
	missing=""
	for alt in $need; do
		ok=0 why=""
		for p in ${alt//|/ }; do
			st=$(jq -r --arg p "$p" '.probes[] | select(.name == $p) | .status' "$d/doctor.json")
			[ "$st" = attached ] && ok=1
			why="$why $p=$st($(jq -r --arg p "$p" '.probes[] | select(.name == $p) | .reason' "$d/doctor.json"))"
		done
		[ "$ok" = 1 ] || missing="$missing$why"
	done
	# The other points of this build (SVI return, ExtINT, VM gone...): listed.
	echo "INFO: $name: doctor: $(jq -r '[.probes[] | "\(.name)=\(.status)"] | join(" ")' "$d/doctor.json")"
	if [ -z "$missing" ]; then
		pass "doctor: every $isa probe point of the $flow flow attached ($need)"
	else
		fail "doctor: not attached:$missing"
	fi
	# Debian's 6.12.y has the 6.14 SVI deferral backported (04bc93cf49d1 +
	# a88f1bb3caed); nestirq then says "6.14+": the same peek/exit/ack order.
	# 6.16 and 7.x have the same order (a later label such as "7.x+" for the
	# vmcs01 guard is accepted too).
	# nestirq may append the SVI regime ("6.12+, vmcs01 guard").
	fbase=${flow%%,*}
	if [ "$fbase" = "$want_flow" ] || { [ "$want_flow" = "6.12+" ] &&
		echo "$fbase" | grep -qE '^(6\.(1[2-9]|[2-9][0-9])|[7-9]\.[0-9x]+)\+$'; }; then
		pass "doctor: flow $flow detected on $(jq -r .kernel "$d/doctor.json") ($(jq -r .flow_reason "$d/doctor.json"))"
	else
		fail "doctor: flow '$flow', expected '$want_flow' on $(jq -r .kernel "$d/doctor.json")"
	fi
fi

# ---- 2. workload ----
wl=$(grep '^NQ_WORKLOAD isa=' "$d/workload.txt" | tail -n1)
wget() { echo "$wl" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
if [ "$(wget result)" = PASS ]; then
	pass "workload: $(echo "$wl" | cut -d' ' -f2-7)"
else
	fail "workload did not pass: ${wl:-no NQ_WORKLOAD line}"
	grep '^NQ_WORKLOAD' "$d/workload.txt"
	exit 1
fi

# ---- 3. the trace ----
if ! "$NQ" convert "$d/t.bin" "$d/t.jsonl" 2>"$d/convert.err"; then
	fail "nestirq convert: $(cat "$d/convert.err")"
	exit 1
fi
# Events of the workload's VM only (the pid the workload printed).
pid=$(sed -n 's/^NQ_WORKLOAD_START .*pid=\([0-9]*\).*/\1/p' "$d/workload.txt")
jq -c --argjson pid "${pid:-0}" 'select(.kind != null and .vm == $pid)' "$d/t.jsonl" >"$d/vm.jsonl"

# Group the events into nested-event checks (check_enter .. check_exit) and
# the acks outside a check (ordinary injections into L1).
jq -s -c '
  reduce .[] as $e ({cur: null, checks: [], out_acks: [], accepts: [], bad: [], all_svi: []};
    (if $e.kind == "svi_update" then .all_svi += [$e] else . end) |
    if $e.kind == "irq_accept" then .accepts += [$e.vector]
    elif $e.kind == "check_enter" then
      (if .cur != null then .bad += ["check_enter inside a check"] else . end)
      | .cur = {enter: $e, ev: []}
    elif $e.kind == "check_exit" then
      if .cur == null then . else .checks += [.cur + {ret: $e.ret}] | .cur = null end
    elif .cur != null then .cur.ev += [$e]
    elif $e.kind == "ack" then .out_acks += [$e.vector]
    else . end)
  | .checks |= map(
      . as $c
      | ($c.ev | map(.kind)) as $k
      | {
          ret: $c.ret,
          decision: ([$c.ev[] | select(.kind == "peek" and .in_ack != true and .vector >= 0) | .vector][0]),
          injects: [$c.ev[] | select(.kind == "vmexit_inject")],
          acks: [$c.ev[] | select(.kind == "ack")],
          svi: [$c.ev[] | select(.kind == "svi_update")],
          svm_intr: ([$c.ev[] | select(.kind == "svm_intr_exit")] | length),
          i_inject: ($k | index("vmexit_inject")),
          i_ack: ($k | index("ack")),
          i_peek: ([$c.ev | to_entries[] | select(.value.kind == "peek" and .value.vector >= 0) | .key][0])
        })
' "$d/vm.jsonl" >"$d/checks.json"

tmp=$d/check.tmp
# Nested external-interrupt exits as the trace shows them.
jq -r --arg flow "$want_flow" '
  .bad[] as $b | "BAD \($b)"' "$d/checks.json" >"$tmp"
jq -r --arg flow "$want_flow" '
  def hex: if type == "number" then . else ltrimstr("0x") | ascii_downcase | explode
    | reduce .[] as $c (0; . * 16 + (if $c >= 97 then $c - 87 else $c - 48 end)) end;
  .checks[] | select((.injects | length) > 0 or .svm_intr > 0) |
  (.injects[0]) as $inj |
  if .svm_intr > 0 then
    # nSVM INTR exit: peek of a real vector, INTR exit, no ack at the exit.
    if ($inj.exit_code != 96) then "BAD svm intr exit reported as exit_code \($inj.exit_code)"
    elif (.acks | length) != 0 then "BAD ack inside an nSVM INTR exit check"
    elif .decision == null then "BAD nSVM INTR exit without a peeked vector"
    elif .i_peek > .i_inject then "BAD peek after the exit"
    else "SVMEXIT \(.decision)" end
  elif $inj.exit_code == 1 then
    ($inj.exit_int_info | hex) as $info |
    if ($info / 2147483648 | floor) == 1 then
      ($info % 256) as $v |
      if (.acks | length) != 1 then "BAD ack-on-exit exit of vector \($v) with \(.acks | length) acks in its check"
      elif .acks[0].vector != $v then "BAD acked \(.acks[0].vector) but reported \($v)"
      elif .decision != $v then "BAD peeked \(.decision) but reported \($v)"
      elif (.i_peek == null or .i_peek > .i_inject or .i_peek > .i_ack) then "BAD peek not before exit and ack (vector \($v))"
      elif ($flow == "6.12+" and .i_ack < .i_inject) then "BAD 6.12+ flow: ack before the inject tracepoint (vector \($v))"
      elif ($flow == "<=6.11" and .i_ack > .i_inject) then "BAD <=6.11 flow: ack after the inject tracepoint (vector \($v))"
      elif (.acks[0].vmcs != "01" and .acks[0].vmcs != "unknown") then "BAD ack with vmcs\(.acks[0].vmcs) loaded (vector \($v))"
      elif (.acks[0].vmcs == "unknown") then "ACKEXIT \($v) vmcs-unknown"
      else "ACKEXIT \($v)" end
    else
      if (.acks | length) != 0 then "BAD ack inside an exit without ack-on-exit"
      else "NOACKEXIT \(.decision)" end
    end
  else empty end
' "$d/checks.json" >>"$tmp" || echo "BAD jq failed on the checks" >>"$tmp"

nbad=$(grep -c '^BAD' "$tmp")
if [ "$nbad" -eq 0 ]; then
	pass "trace: every nested external-interrupt exit is peek -> exit -> ack with one vector, in the $want_flow order"
else
	fail "trace: $nbad malformed exits: $(grep '^BAD' "$tmp" | sort | uniq -c | head -5 | tr '\n' ';')"
fi
if grep -q 'vmcs-unknown' "$tmp"; then
	fail "trace: acks without the loaded VMCS (vmx_state not readable)"
fi

# ---- 4. counts against the workload ----
hex_list() { tr ',' '\n' | sed '/^$/d' | while read -r h; do echo $((16#$h)); done | tr '\n' ' '; }
nq_exit_vecs=$(awk '$1 == "ACKEXIT" {print $2}' "$tmp" | tr '\n' ' ')
wl_exit_vecs=$(wget exit_vectors | hex_list)
if [ "$nq_exit_vecs" = "$wl_exit_vecs" ]; then
	pass "counts: ack-on-exit vectors nestirq saw == L1's exit vectors, in order ($(wget exits_ack) exits)"
else
	fail "counts: ack-on-exit vectors: nestirq [$nq_exit_vecs] vs L1 [$wl_exit_vecs]"
fi
n_noack=$(grep -cE '^(NOACKEXIT|SVMEXIT)' "$tmp")
if [ "$n_noack" -eq "$(wget exits_noack)" ]; then
	pass "counts: exits without ack (VMX no ack-on-exit / nSVM INTR): $n_noack == L1's"
else
	fail "counts: exits without ack: nestirq $n_noack vs L1 $(wget exits_noack)"
fi
sent_sorted=$(wget sent_vectors | tr ',' '\n' | while IFS=: read -r h n; do
	[ -n "$h" ] && for _ in $(seq "$n"); do echo $((16#$h)); done
done | sort -n | tr '\n' ' ')
acc_sorted=$(jq -r '.accepts[]' "$d/checks.json" | sort -n | tr '\n' ' ')
# Event ABI 3 streams an accept only while a check is open on its vCPU and
# counts the others in the kernel (`count` records, host-wide: this L0 runs
# only the workload's VM).  Streamed ones must be fired vectors, and
# streamed + counted must be exactly the MSIs fired.
counted=$(jq -s '[.[] | select(.kind == "count" and .of == "irq_accept") | .n] | add // 0' "$d/t.jsonl")
n_acc=$(jq -r '.accepts | length' "$d/checks.json")
if [ "$counted" -eq 0 ] && [ "$acc_sorted" = "$sent_sorted" ]; then
	pass "counts: every MSI the host fired was accepted once ($(wget sent) accepts, all streamed)"
elif [ $((n_acc + counted)) -eq "$(wget sent)" ] &&
	[ -z "$(comm -23 <(tr ' ' '\n' <<<"$acc_sorted" | sed '/^$/d' | sort) <(tr ' ' '\n' <<<"$sent_sorted" | sed '/^$/d' | sort))" ]; then
	pass "counts: every MSI the host fired was accepted once ($n_acc streamed inside checks + $counted counted in the kernel = $(wget sent))"
else
	fail "counts: accepted [$acc_sorted] + $counted counted vs fired [$sent_sorted]"
fi
# Interrupts L1 took through its IDT are ordinary injections: acks outside a check.
out_acks=$(jq -r '.out_acks[]' "$d/checks.json" | tr '\n' ' ')
wl_idt=$(wget idt_vectors | hex_list)
if [ "$out_acks" = "$wl_idt" ]; then
	pass "counts: IDT-delivered vectors == acks outside nested checks, in order ($(wget idt_irqs))"
else
	fail "counts: acks outside checks [$out_acks] vs L1's IDT vectors [$wl_idt]"
fi

# ---- 4b. SVI (I1): only with APICv does KVM write L1's SVI ----
apicv=$(sed -n 's/^NQ_E2E_PARAM kvm_intel.enable_apicv=//p' "$d/serial.txt" 2>/dev/null | head -n1)
if [ "${isa:-}" = svm ]; then
	echo "SKIP: $name: SVI not exercised (nSVM has no SVI)"
elif [ "$apicv" != Y ]; then
	echo "SKIP: $name: SVI not exercised (kvm_intel enable_apicv=${apicv:-?})"
else
	# Every ack-on-exit check must contain an L1-ISR SVI write, on vmcs01.
	svi=$(jq -r '.checks[] | select(.acks | length > 0) | [.svi[] | select(.origin == "l1_isr")] |
		if length == 0 then "NONE" else (map(.vmcs + ":" + .outcome) | join(",")) end' "$d/checks.json")
	n_ok=$(echo "$svi" | grep -c '^01:written$')
	n_acks=$(echo "$svi" | grep -c .)
	all=$(jq -r '[.all_svi[] | select(.origin == "l1_isr")] | length' "$d/checks.json")
	bad02=$(jq -r '[.all_svi[] | select(.origin == "l1_isr" and .vmcs == "02" and .outcome == "written")] | length' "$d/checks.json")
	if [ "$n_acks" -gt 0 ] && [ "$n_ok" -eq "$n_acks" ] && [ "$bad02" -eq 0 ]; then
		pass "SVI: every ack-on-exit ack wrote L1's SVI with vmcs01 loaded ($n_ok of $n_acks; $all L1-ISR SVI writes in all, none on vmcs02)"
	else
		fail "SVI: per ack-on-exit check [$(echo "$svi" | sort | uniq -c | tr '\n' ';')], L1-ISR writes on vmcs02: $bad02"
	fi
fi

# ---- 5. replay ----
"$NQ" replay --json "$d/t.bin" >"$d/replay.json" 2>"$d/replay.err"
rrc=$?
viol=$(jq -r 'select(.type == "summary") | .violations' "$d/replay.json" 2>/dev/null)
lost=$(jq -r 'select(.type == "summary") | .lost' "$d/replay.json" 2>/dev/null)
if [ "$rrc" -eq 0 ] && [ "$viol" = 0 ]; then
	pass "replay: 0 violations, $lost lost, pairs $(jq -r 'select(.type == "summary") | .pairs' "$d/replay.json")"
else
	fail "replay: exit $rrc, violations ${viol:-?}: $(jq -c 'select(.type == "violation")' "$d/replay.json" | head -3)"
fi
if [ "$lost" != 0 ]; then
	fail "replay: $lost lost records"
fi
exit $rc
