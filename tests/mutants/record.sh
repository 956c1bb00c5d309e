#!/usr/bin/env bash
# record.sh CASE [RESULTS_DIR]
# Keeps a mutant run's proof without an emulator: converts the trace that
# run.sh brought back (cache/results/CASE/t.bin) to JSON lines, drops the
# hardware nested VM-exits for L0's own interrupts (exit reason 1: L0's
# timer while L2 spins; KVM never reflects them to L1, no bearing on any
# verdict, 99% of the trace), checks that the trimmed trace
# gives exactly the verdict of the full one, and writes
#   tests/data/mutant_CASE.jsonl
#   tests/data/mutant_CASE.expect   (the format of tests/scenarios/*.expect)
set -euo pipefail
MUT_DIR=$(cd "$(dirname "$0")" && pwd)
. "$MUT_DIR/../e2e/lib.sh"
c=${1:?case}
res=${2:-$MUT_DIR/cache/results/$c}
data=$ROOT/tests/data
[ -s "$res/t.bin" ] || e2e_die "no trace in $res"
line=$(awk -v c="$c" '!/^#/ && $1 == c' "$MUT_DIR/cases")
read -r _ kname emu wl expect <<<"$line"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$NQ" convert "$res/t.bin" "$tmp/full.jsonl"
{
	head -n1 "$tmp/full.jsonl"
	tail -n +2 "$tmp/full.jsonl" | jq -c 'select(.kind != "hw_nested_vmexit" or .reason != 1)'
} >"$tmp/trim.jsonl"
"$NQ" replay --json "$tmp/full.jsonl" >"$tmp/full.json" || true
"$NQ" replay --json "$tmp/trim.jsonl" >"$tmp/trim.json" || true
sum() { jq -c 'select(.type=="summary") | .violations_by_kind' "$1"; }
[ "$(sum "$tmp/full.json")" = "$(sum "$tmp/trim.json")" ] ||
	e2e_die "trimming changed the verdict: $(sum "$tmp/full.json") vs $(sum "$tmp/trim.json")"
out=$data/mutant_$c
cp "$tmp/trim.jsonl" "$out.jsonl"
wlname=nq_vmx_irq
[ "$wl" = - ] || wlname="nq_mut $wl"
{
	echo "# Recorded by tests/mutants (run.sh $c): $(head -n1 "$tmp/full.jsonl" | jq -r .kernel) built from"
	echo "# Debian's linux-source-6.12 $( [ "$kname" = unmodified ] && echo "unmodified" || echo "+ tests/mutants/patches/$kname.patch"),"
	echo "# under $emu (e2e run.sh), workload $wlname.  Expected: ${expect}."
	echo "# Hardware nested VM-exits for L0's own interrupts (reason 1, mostly its timer) were trimmed."
	jq -r 'select(.type=="summary") | .violations_by_kind | to_entries[] | select(.value > 0) | "violation \(.key) \(.value)"' "$tmp/trim.json"
	jq -r 'select(.type=="summary") | "stat checks \(.checks)\nstat pairs \(.pairs)\nstat lost \(.lost)\nstat exits_no_ack \(.exits_no_ack)\nstat busy_peeks \(.busy_peeks)\nstat nested_pi_nv \(.nested_pi_nv)\nstat svi_deferred \(.svi_deferred)\nstat svi_deferred_applied \(.svi_deferred_applied)"' "$tmp/trim.json"
	# vm/vcpu of each kind (one VM in these runs), and the evidence every
	# violation of a kind carries.
	jq -r 'select(.type=="violation") | "at \(.kind) vm=\(.vm) vcpu=\(.vcpu)"' "$tmp/trim.json" | sort -u
	jq -rs '[.[] | select(.type=="violation")] | group_by(.kind)[] |
		{k: .[0].kind, ev: (map([.evidence[]?.kind] | unique) | reduce .[1:][] as $e (.[0]; . - (. - $e)))} |
		.k as $k | .ev[] | "evidence \($k) \(.)"' "$tmp/trim.json"
} >"$out.expect"
e2e_log "wrote $out.jsonl ($(wc -c <"$out.jsonl") bytes) and $out.expect"
