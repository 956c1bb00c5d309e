#!/usr/bin/env bash
# `nestirq serve` with real clients, all on loopback: a real Prometheus server
# scrapes it every second while a helper VM fires MSIs; the series arrive in
# Prometheus' HTTP API; promtool accepts /metrics; a bounded barrage of
# malformed and oversized requests leaves the daemon serving with its counts
# intact; SIGHUP reopens the log; SIGTERM detaches every probe and restores
# kernel.bpf_stats_enabled.  Needs root, /dev/kvm, BPF and prometheus.
set -u
cd "$(dirname "$0")/../.." || exit 2
. tests/cli/lib.sh
HELPER=$BUILD/tests/live/kvm_msi
N=500
TESTS="rejects_remote_listen healthz promtool_check_metrics prometheus_scrapes_msis bpf_prog_stats
http_errors barrage_survives dashboard_metrics_exist sighup_reopens_log sigterm_detaches"

pids=()
cleanup() {
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
	for p in "${pids[@]}"; do
		for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	exec 7>&- 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# Remote listening is refused without --allow-remote: no privilege needed.
t=rejects_remote_listen
out=$("$NQ" serve --listen 0.0.0.0:9 2>&1); rc=$?
if expect_rc $t 2 $rc; then
	grep -q 'not a loopback address; add --allow-remote' <<<"$out" && pass $t || fail $t "$out"
fi

t=usage_errors
ok=1
for a in "--listen localhost:80" "--listen 127.0.0.1" "--listen 127.0.0.1:0" "--listen [::1]:99999" "--bogus" "extra"; do
	# shellcheck disable=SC2086
	"$NQ" serve $a >/dev/null 2>"$TMP/e"
	rc=$?
	if [ $rc != 2 ] || [ "$(wc -l <"$TMP/e")" != 1 ]; then ok=0; echo "  serve $a: exit $rc: $(cat "$TMP/e")"; fi
done
"$NQ" serve --log /nonexistent/dir/log >/dev/null 2>"$TMP/e"; [ $? = 2 ] && grep -q 'nonexistent/dir/log' "$TMP/e" || ok=0
"$NQ" serve --help | grep -q -- '--allow-remote' || ok=0
[ $ok = 1 ] && pass $t || fail $t "a bad flag did not exit 2 with one line"

why=
if [ "$(id -u)" != 0 ]; then why="not root"
elif [ ! -w /dev/kvm ]; then why="no /dev/kvm"
elif [ ! -e /sys/kernel/btf/vmlinux ]; then why="no BPF (no /sys/kernel/btf/vmlinux)"
elif ! command -v prometheus >/dev/null || ! command -v promtool >/dev/null; then
	why="prometheus/promtool not installed (scripts/deps.sh installs them)"
elif [ ! -x "$HELPER" ]; then why="$HELPER not built"
fi
if [ -n "$why" ]; then
	for t in $TESTS; do [ $t = rejects_remote_listen ] || skip $t "$why"; done
	finish
fi

prom_value() { # PromQL -> first value or empty
	curl -sf -m 5 --get --data-urlencode "query=$1" "http://127.0.0.1:$PP/api/v1/query" |
		jq -r '.data.result[0].value[1] // empty' 2>/dev/null
}
# The BPF programs a process holds, by id (its fds' fdinfo): other BPF users
# on the host, such as a second nestirq serve, do not count.
prog_ids() { grep -h '^prog_id:' /proc/"$1"/fdinfo/* 2>/dev/null | awk '{print $2}' | sort -un; }

stats_before=$(cat /proc/sys/kernel/bpf_stats_enabled)
SP=$(free_port)
PP=$(free_port)
while [ "$PP" = "$SP" ]; do PP=$(free_port); done
M=http://127.0.0.1:$SP

"$NQ" serve --listen 127.0.0.1:$SP --log "$TMP/serve.log" --enable-bpf-stats 2>"$TMP/serve.err" &
serve=$!
pids+=($serve)

t=healthz
if ! wait_http $M/healthz 20; then
	fail $t "serve did not come up: $(cat "$TMP/serve.err" "$TMP/serve.log" 2>/dev/null)"
	for t in $TESTS; do case $t in rejects_remote_listen | healthz) ;; *) skip $t "serve did not start" ;; esac; done
	finish
fi
body=$(curl -s -m 5 $M/healthz)
[ "$body" = ok ] && pass $t || fail $t "/healthz said '$body'"
serve_progs=$(prog_ids $serve)

t=promtool_check_metrics
curl -s -m 5 -D "$TMP/h" $M/metrics >"$TMP/m1"
if ! grep -qi '^content-type: text/plain; version=0.0.4' "$TMP/h"; then
	fail $t "content type: $(cat "$TMP/h")"
elif ! out=$(promtool check metrics <"$TMP/m1" 2>&1); then
	fail $t "$out"
else
	pass $t
fi

# Prometheus on loopback, scraping every second.
cat >"$TMP/prom.yml" <<EOF
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: nestirq
    static_configs:
      - targets: ['127.0.0.1:$SP']
EOF
prometheus --config.file="$TMP/prom.yml" --storage.tsdb.path="$TMP/tsdb" \
	--web.listen-address=127.0.0.1:$PP --log.level=warn >"$TMP/prom.log" 2>&1 &
pids+=($!)

t=prometheus_scrapes_msis
rm -f "$TMP/go"
mkfifo "$TMP/go"
"$HELPER" serve 1 $N <"$TMP/go" >"$TMP/helper.out" 2>&1 &
helper=$!
pids+=($helper)
exec 7>"$TMP/go"
before=
if ! wait_http "http://127.0.0.1:$PP/-/ready" 60; then
	fail $t "prometheus did not start: $(tail -n 5 "$TMP/prom.log")"
else
	# The first scrape, before the MSIs: the baseline other VMs may have raised.
	for _ in $(seq 100); do
		before=$(prom_value 'nestirq_events_total{kind="irq_accept"}')
		[ -n "$before" ] && break
		sleep 0.2
	done
	echo go >&7
	exec 7>&-
	wait $helper
	got=
	for _ in $(seq 150); do
		got=$(prom_value 'nestirq_events_total{kind="irq_accept"}')
		[ -n "$got" ] && [ -n "$before" ] && [ "$got" -ge $((before + N)) ] && break
		sleep 0.2
	done
	up=$(prom_value 'up{job="nestirq"}')
	att=$(prom_value 'nestirq_probe_attached{probe="accept"}')
	if [ -z "$before" ] || [ -z "$got" ] || [ "$got" -lt $((before + N)) ]; then
		fail $t "irq_accept went from '$before' to '$got', expected +$N ($(cat "$TMP/helper.out"))"
	elif [ "$up" != 1 ] || [ "$att" != 1 ]; then
		fail $t "up=$up accept attached=$att"
	else
		pass $t
	fi
fi

t=bpf_prog_stats
curl -s -m 5 $M/metrics >"$TMP/m2"
runs=$(awk '/^nestirq_bpf_prog_runs_total\{prog="(tp|tpf|raw)_accept"\}/ {s += $2} END {print s + 0}' "$TMP/m2")
if ! grep -q '^nestirq_bpf_stats_enabled 1$' "$TMP/m2"; then
	fail $t "bpf stats not on with --enable-bpf-stats: $(grep bpf_stats "$TMP/m2")"
elif [ "$runs" -lt $N ]; then
	fail $t "accept program ran $runs times, expected >= $N"
else
	pass $t
fi

t=http_errors
c404=$(curl -s -o /dev/null -w '%{http_code}' -m 5 $M/nope)
c405=$(curl -s -o /dev/null -w '%{http_code}' -m 5 -X POST --data x $M/metrics)
head=$(curl -s -o /dev/null -w '%{http_code}' -m 5 -I $M/metrics)
big=$(head -c 65536 /dev/zero | tr '\0' a)
cbig=$(curl -s -o /dev/null -w '%{http_code}' -m 5 -H "X-Big: $big" $M/metrics)
if [ "$c404" = 404 ] && [ "$c405" = 405 ] && [ "$head" = 200 ] && [ "${cbig:0:1}" = 4 ]; then
	pass $t
else
	fail $t "404:$c404 405:$c405 HEAD:$head oversized header:$cbig"
fi

# A bounded barrage: at most ~300 requests and ~20 s, loopback only.
t=barrage_survives
accepts_before=$(grep '^nestirq_events_total{kind="irq_accept"}' "$TMP/m2" | awk '{print $2}')
barrage() {
	local i
	trap '' PIPE # the daemon may close on us mid-write: keep going
	for i in $(seq 40); do
		# malformed request lines, bad versions, binary junk, missing CRLF
		{ printf 'GARBAGE\r\n\r\n' >&3; timeout 2 cat <&3 >/dev/null; } 3<>/dev/tcp/127.0.0.1/$SP 2>/dev/null
		echo c
		{ printf 'GET /metrics HTTP/9.9\r\n\r\n' >&3; timeout 2 cat <&3 >/dev/null; } 3<>/dev/tcp/127.0.0.1/$SP 2>/dev/null
		echo c
		{ head -c 2048 /dev/urandom >&3; timeout 2 cat <&3 >/dev/null; } 3<>/dev/tcp/127.0.0.1/$SP 2>/dev/null
		echo c
		{ printf 'GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999\r\n\r\nabc' >&3; timeout 2 cat <&3 >/dev/null; } 3<>/dev/tcp/127.0.0.1/$SP 2>/dev/null
		echo c
	done
	# oversized request line and headers
	for i in $(seq 10); do
		{ printf 'GET /%s HTTP/1.1\r\nHost: x\r\n\r\n' "$big" >&3; timeout 2 cat <&3 >/dev/null; } 3<>/dev/tcp/127.0.0.1/$SP 2>/dev/null
		echo c
		{ printf 'GET /metrics HTTP/1.1\r\nHost: x\r\n' >&3; for _ in 1 2 3 4; do printf 'X-H: %s\r\n' "$big" >&3 || break; done; timeout 2 cat <&3 >/dev/null; } 3<>/dev/tcp/127.0.0.1/$SP 2>/dev/null
		echo c
	done
	# more idle half-requests at once than the per-IP limit; the daemon times them out
	local held=()
	for i in $(seq 24); do
		(exec 3<>/dev/tcp/127.0.0.1/$SP && printf 'GET /metrics HTTP/1.1\r\n' >&3 && sleep 3) 2>/dev/null &
		held+=($!)
	done
	sleep 1
	for p in "${held[@]}"; do wait "$p" 2>/dev/null; done
}
start=$(date +%s)
export SP big
timeout 60 bash -c "$(declare -f barrage); barrage" >"$TMP/barrage.log" 2>/dev/null
elapsed=$(($(date +%s) - start))
sleep 0.5
if ! kill -0 $serve 2>/dev/null; then
	fail $t "serve died: $(tail -n 5 "$TMP/serve.err" "$TMP/serve.log")"
else
	curl -s -m 5 $M/metrics >"$TMP/m3"
	accepts_after=$(grep '^nestirq_events_total{kind="irq_accept"}' "$TMP/m3" | awk '{print $2}')
	body=$(curl -s -m 5 $M/healthz)
	if [ "$body" != ok ]; then
		fail $t "healthz after barrage: '$body'"
	elif ! promtool check metrics <"$TMP/m3" >/dev/null 2>&1; then
		fail $t "metrics invalid after barrage"
	elif [ -z "$accepts_after" ] || [ "$accepts_after" -lt "$accepts_before" ]; then
		fail $t "irq_accept went from $accepts_before to $accepts_after"
	elif ! grep -q '^nestirq_probe_attached{probe="accept"} 1$' "$TMP/m3"; then
		fail $t "accept probe detached"
	else
		pass $t
		echo "  barrage: $(grep -c . "$TMP/barrage.log") connections in ${elapsed}s"
	fi
fi

# Every metric the Grafana dashboard and the alert rules use is exported.
t=dashboard_metrics_exist
missing=
for f in contrib/grafana/nestirq-dashboard.json contrib/prometheus/nestirq-alerts.yml; do
	[ -f "$f" ] || { missing="$missing $f(absent)"; continue; }
	for name in $(grep -oE 'nestirq_[a-z0-9_]+' "$f" | sort -u); do
		# a family without samples yet (no nested exits here) still has its TYPE line
		grep -qE "^(# TYPE )?$name(\{| )" "$TMP/m3" || missing="$missing $name"
	done
done
[ -z "$missing" ] && pass $t || fail $t "not in /metrics:$missing"

t=sighup_reopens_log
mv "$TMP/serve.log" "$TMP/serve.log.1"
kill -HUP $serve
for _ in $(seq 50); do grep -q 'log file reopened' "$TMP/serve.log" 2>/dev/null && break; sleep 0.1; done
if grep -q 'log file reopened' "$TMP/serve.log" 2>/dev/null && kill -0 $serve 2>/dev/null &&
	grep -q 'serving http://127.0.0.1' "$TMP/serve.log.1"; then
	pass $t
else
	fail $t "no reopened log: $(ls "$TMP")"
fi

t=sigterm_detaches
kill -TERM $serve
rc=
for _ in $(seq 100); do kill -0 $serve 2>/dev/null || break; sleep 0.1; done
if kill -0 $serve 2>/dev/null; then
	fail $t "still running 10 s after SIGTERM"
else
	wait $serve
	rc=$?
	if [ "$rc" != 0 ]; then
		fail $t "exit status $rc: $(tail -n 3 "$TMP/serve.log")"
	elif [ -z "$serve_progs" ]; then
		fail $t "serve held no BPF program while it ran"
	elif left=$(for id in $serve_progs; do bpftool prog show id "$id" >/dev/null 2>&1 && echo "$id"; done) &&
		[ -n "$left" ]; then
		fail $t "BPF programs of serve still loaded after exit: ids $(echo $left)"
	elif [ "$(cat /proc/sys/kernel/bpf_stats_enabled)" != "$stats_before" ]; then
		fail $t "bpf_stats_enabled is $(cat /proc/sys/kernel/bpf_stats_enabled), was $stats_before"
	elif ! grep -q 'stopping: .*probes detached' "$TMP/serve.log"; then
		fail $t "no shutdown line: $(tail -n 2 "$TMP/serve.log")"
	else
		pass $t
	fi
fi
finish
