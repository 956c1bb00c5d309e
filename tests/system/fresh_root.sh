#!/usr/bin/env bash
# The README's two commands on a machine that has never seen the project: a
# fresh Debian 12 root from Debian's own packages (debootstrap minbase: no
# make, no git, no compiler), a clean `git archive` of HEAD in it, /proc,
# /sys and /dev bound, chroot.  The first command runs to the end; the second
# runs without the emulators and fuzzers (NQ_E2E=0 NQ_FUZZ_SECONDS=0): unit,
# live and CLI tests.  The commands are read from README.md, so the README
# cannot promise what this test does not run.  Needs root and debootstrap;
# 4 to 7 minutes here (debootstrap 2 to 4.5 more without the cache of
# tests/system/lib.sh).
set -u
cd "$(dirname "$0")/../.." || exit 2
. tests/cli/lib.sh
. tests/system/lib.sh
TESTS="readme_two_commands fresh_root readme_run_command readme_test_command"

why=$(sys_why_not)
[ -z "$why" ] && ! git rev-parse -q --verify HEAD >/dev/null 2>&1 && why="not a git checkout"
if [ -n "$why" ]; then
	for t in $TESTS; do skip $t "$why"; done
	finish
fi
sys_init

# The first ```sh block of the README: its commands, comments stripped.
t=readme_two_commands
mapfile -t cmds < <(awk '/^```sh/ {f = 1; next} f && /^```/ {exit} f {sub(/[ \t]*#.*/, ""); if ($0 != "") print}' README.md)
if [ ${#cmds[@]} != 2 ]; then
	fail $t "the README's first block has ${#cmds[@]} commands, not 2: ${cmds[*]}"
	finish
fi
pass $t

root=$TMP/root
t=fresh_root
start=$SECONDS
if ! make_fresh_root "$root"; then
	fail $t "debootstrap failed"
	finish
fi
# Fresh means none of what the README's command must install itself.
if have=$(run_in_root "$root" 'for c in make git gcc clang pkg-config; do command -v $c; done') && [ -n "$have" ]; then
	fail $t "the root already has: $have"
	finish
fi
mount_root "$root" || { fail $t "cannot bind /proc /sys /dev"; finish; }
mkdir -p "$root/root/nestirq"
git archive HEAD | tar -x -C "$root/root/nestirq" || { fail $t "git archive"; finish; }
env=
if [ -n "${NQ_LIVE_LOCK:-}" ]; then
	# Share the host's BPF/KVM lock with the tests inside.
	touch "$root/tmp/nq-live.lock" && mount --bind "$NQ_LIVE_LOCK" "$root/tmp/nq-live.lock" &&
		env="NQ_LIVE_LOCK=/tmp/nq-live.lock"
fi
pass "$t ($((SECONDS - start)) s: debootstrap or cache, git archive of $(git rev-parse --short HEAD))"

# runs NAME LOG COMMAND: the command in the root's checkout, under a time limit.
runs() {
	local log=$2
	shift 2
	run_in_root "$root" "cd /root/nestirq && timeout ${NQ_SYSTEM_TIMEOUT:-3600} env $env $*" >"$log" 2>&1
}

t=readme_run_command
start=$SECONDS
runs $t "$TMP/run.log" "${cmds[0]}"
rc=$?
if [ $rc != 0 ]; then
	tail -n 30 "$TMP/run.log"
	fail $t "'${cmds[0]}' exited $rc in the fresh root"
elif ! grep -q '^== nestirq doctor ==' "$TMP/run.log" || ! grep -qE '^(demo: nestirq caught|== nestirq watch \()' "$TMP/run.log"; then
	tail -n 30 "$TMP/run.log"
	fail $t "'${cmds[0]}' did not run doctor and then the watch or the demo"
else
	pass "$t ('${cmds[0]}', $((SECONDS - start)) s)"
fi

t=readme_test_command
start=$SECONDS
runs $t "$TMP/test.log" "NQ_E2E=0 NQ_FUZZ_SECONDS=0 ${cmds[1]}"
rc=$?
summary=$(tail -n 1 "$TMP/test.log")
if [ $rc != 0 ]; then
	grep -E '^\[.*\] FAIL' "$TMP/test.log" | head -n 20
	tail -n 20 "$TMP/test.log"
	fail $t "'${cmds[1]}' exited $rc in the fresh root: $summary"
elif ! [[ $summary =~ ^([0-9]+)\ passed,\ 0\ failed,\ [0-9]+\ skipped$ ]] || [ "${BASH_REMATCH[1]}" -lt 50 ]; then
	tail -n 20 "$TMP/test.log"
	fail $t "no clean summary line: $summary"
else
	# The skips inside the root, so that a skipped suite is visible here.
	grep -E '^\[.*\] SKIP' "$TMP/test.log" | sed 's/^/  inside: /'
	pass "$t ('NQ_E2E=0 NQ_FUZZ_SECONDS=0 ${cmds[1]}': $summary, $((SECONDS - start)) s)"
fi
finish
