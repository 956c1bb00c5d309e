# Shared helpers for the shell tests: PASS/FAIL/SKIP lines like tests/unit/check.h.
BUILD=${BUILD:-build}
NQ=${NQ:-$BUILD/nestirq}
_failed=0
TMP=$(mktemp -d /tmp/nestirq-cli.XXXXXX)
# Background processes a test started (append their pids): stopped at exit.
pids=()
_cleanup() {
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
	rm -rf "$TMP"
}
trap _cleanup EXIT

# A free TCP port on loopback.
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
# wait_http URL SECONDS: 0 once URL answers 2xx.
wait_http() {
	for _ in $(seq $(($2 * 10))); do
		curl -sf -m 1 "$1" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}

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
