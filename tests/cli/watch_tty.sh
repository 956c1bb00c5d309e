#!/usr/bin/env bash
# `nestirq watch` on a terminal: a status line rewritten in place, colour only
# on a terminal (and never with NO_COLOR), the summary table at the end.
cd "$(dirname "$0")/../.." || exit 1
. tests/cli/lib.sh

if [ "$(id -u)" -ne 0 ]; then
	skip watch_tty "needs root for BPF"
	finish
fi
if ! command -v script >/dev/null; then
	skip watch_tty "no script(1) to provide a terminal"
	finish
fi

# script(1) gives watch a pseudo-terminal; its output lands in the typescript.
t=status_line_on_tty
TERM=xterm COLUMNS=120 script -qfec "$NQ watch --duration 2500ms --interval 500ms" "$TMP/tty.out" >/dev/null 2>&1
rc=$?
if expect_rc $t 0 $rc; then
	if grep -q $'\r\033\\[K\\[' "$TMP/tty.out" || grep -qa $'\r' "$TMP/tty.out" &&
		grep -qa 'pairs 0 | violations 0 | drops 0' "$TMP/tty.out" &&
		grep -qa 'verdict: PASS' "$TMP/tty.out"; then
		pass $t
	else fail $t "no in-place status line or summary table: $(tr '\r\033' '~^' <"$TMP/tty.out" | head -c 600)"; fi
fi

t=color_on_tty_only
TERM=xterm script -qfec "$NQ watch --duration 1s --interval 0" "$TMP/c.out" >/dev/null 2>&1
"$NQ" watch --duration 1s --interval 0 >"$TMP/pipe.out" 2>&1
TERM=xterm NO_COLOR=1 script -qfec "$NQ watch --duration 1s --interval 0" "$TMP/nc.out" >/dev/null 2>&1
if grep -qa $'\033\\[' "$TMP/c.out" && ! grep -qa $'\033' "$TMP/pipe.out" &&
	! grep -qa $'\033\\[[0-9;]*m' "$TMP/nc.out"; then
	pass $t
else fail $t "escape sequences: tty=$(grep -ca $'\033' "$TMP/c.out") pipe=$(grep -ca $'\033' "$TMP/pipe.out") no_color=$(grep -ca $'\033\\[[0-9;]*m' "$TMP/nc.out")"; fi

t=plain_lines_off_tty
"$NQ" watch --duration 1200ms --interval 500ms >"$TMP/plain.out" 2>&1
if ! grep -qa $'\r' "$TMP/plain.out" && grep -q '^\[ *[0-9.]*s\] .* events/s' "$TMP/plain.out" &&
	grep -q '^summary:' "$TMP/plain.out"; then
	pass $t
else fail $t "$(head -c 400 "$TMP/plain.out")"; fi

t=color_flag
"$NQ" watch --color sometimes >/dev/null 2>"$TMP/e"; rc=$?
expect_rc $t 2 $rc && { grep -q -- '--color' "$TMP/e" && pass $t || fail $t "$(cat "$TMP/e")"; }
finish
