#!/usr/bin/env bash
# contrib/: the systemd unit verifies and its capability set is enough for
# `nestirq serve` here; the alert rules pass promtool's check and unit tests;
# the Grafana dashboard is JSON whose metrics are all documented.
set -u
cd "$(dirname "$0")/../.." || exit 2
. tests/cli/lib.sh
UNIT=contrib/systemd/nestirq.service

t=systemd_unit_verifies
if ! command -v systemd-analyze >/dev/null; then
	skip $t "systemd-analyze not installed"
else
	# verify wants ExecStart= to exist: point it at this build.
	sed "s|/usr/local/bin/nestirq|$(realpath "$NQ")|" $UNIT >"$TMP/nestirq.service"
	if out=$(systemd-analyze verify "$TMP/nestirq.service" 2>&1) && [ -z "$out" ]; then
		pass $t
	else
		fail $t "$out"
	fi
fi

t=systemd_unit_hardening
want="CapabilityBoundingSet=CAP_BPF CAP_PERFMON|NoNewPrivileges=yes|ProtectSystem=strict|ProtectHome=yes|PrivateTmp=yes|RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX|Restart=on-failure"
missing=
IFS='|' read -ra lines <<<"$want"
for l in "${lines[@]}"; do grep -qxF "$l" $UNIT || missing="$missing [$l]"; done
[ -z "$missing" ] && pass $t || fail $t "missing:$missing"

# The unit's capabilities, measured: serve with only CAP_BPF and CAP_PERFMON
# (as root, like the unit) attaches the accept tracepoint and serves metrics.
t=least_capabilities_serve
if [ "$(id -u)" != 0 ] || [ ! -e /sys/kernel/btf/vmlinux ] || ! command -v setpriv >/dev/null; then
	skip $t "needs root, BPF and setpriv"
else
	port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	setpriv --bounding-set=-all,+bpf,+perfmon --inh-caps=-all --no-new-privs \
		"$NQ" serve --listen 127.0.0.1:$port 2>"$TMP/caps.err" &
	pid=$!
	trap 'kill -TERM $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$TMP"' EXIT
	ok=
	for _ in $(seq 100); do
		if curl -sf -m 1 http://127.0.0.1:$port/metrics >"$TMP/caps.m" 2>/dev/null; then ok=1; break; fi
		kill -0 $pid 2>/dev/null || break
		sleep 0.1
	done
	caps=$(grep CapEff /proc/$pid/status 2>/dev/null | awk '{print $2}')
	kill -TERM $pid 2>/dev/null
	wait $pid
	rc=$?
	if [ -z "$ok" ]; then
		fail $t "serve did not come up: $(cat "$TMP/caps.err")"
	elif ! grep -q '^nestirq_probe_attached{probe="accept"} 1$' "$TMP/caps.m"; then
		fail $t "accept not attached with CAP_BPF+CAP_PERFMON: $(grep probe_attached "$TMP/caps.m")"
	elif [ "$caps" != 000000c000000000 ]; then
		fail $t "CapEff was $caps, expected CAP_BPF|CAP_PERFMON only"
	elif [ $rc -ne 0 ]; then
		fail $t "exit status $rc after SIGTERM"
	else
		pass $t
	fi
fi

t=alert_rules_check
if ! command -v promtool >/dev/null; then
	skip $t "promtool not installed (scripts/deps.sh installs prometheus)"
elif out=$(promtool check rules contrib/prometheus/nestirq-alerts.yml 2>&1); then
	pass $t
else
	fail $t "$out"
fi

t=alert_rules_unit_tests
if ! command -v promtool >/dev/null; then
	skip $t "promtool not installed"
elif out=$(cd contrib/prometheus && promtool test rules nestirq-alerts.test.yml 2>&1); then
	pass $t
else
	fail $t "$out"
fi

t=dashboard_is_json
D=contrib/grafana/nestirq-dashboard.json
if jq -e '.title and (.panels | length > 5) and ([.panels[].targets[].expr] | all(test("nestirq_")))' $D >/dev/null 2>&1; then
	pass $t
else
	fail $t "$D is not a dashboard JSON with nestirq queries"
fi

# Every metric the dashboard and the rules use is in docs/production.md's list
# (tests/cli/serve.sh checks the same names against a live /metrics).
t=dashboard_metrics_documented
missing=
for name in $(grep -ohE 'nestirq_[a-z0-9_]+' $D contrib/prometheus/nestirq-alerts.yml | sort -u); do
	base=${name%_bucket}
	grep -qF "\`$base" docs/production.md || missing="$missing $name"
done
[ -z "$missing" ] && pass $t || fail $t "not documented:$missing"
finish
