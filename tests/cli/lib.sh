# Shared helpers for the shell tests: PASS/FAIL/SKIP lines like tests/unit/check.h.
BUILD=${BUILD:-build}
NQ=${NQ:-$BUILD/nestirq}
_failed=0
TMP=$(mktemp -d /tmp/nestirq-cli.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

pass() { echo "PASS: $1"; }
fail() {
	echo "FAIL: $1: $2"
	_failed=1
}
skip() { echo "SKIP: $1: $2"; }
# expect_rc NAME WANT GOT
expect_rc() {
	if [ "$3" -eq "$2" ]; then return 0; fi
	fail "$1" "exit status $3, expected $2"
	return 1
}
finish() { exit "$_failed"; }
