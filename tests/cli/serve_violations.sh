#!/usr/bin/env bash
# Issue 12 §5/§6: every violation `serve` sees as one structured record.
# `serve --replay` feeds a trace with 1,003 violations (1,000 from one VM,
# 3 from another) through the daemon's own path; then: the --log file is
# JSON lines with the evidence, bounded by the storm limiter; /violations
# returns the last 256 with their evidence; the metrics count all 1,003;
# and, in a private journald (a mount namespace, so the host's logs are
# untouched), `journalctl -o json` reads the entries back with their
# fields.  Loopback only; the journald part needs root, unshare and
# systemd-journald.
set -u
cd "$(dirname "$0")/../.." || exit 2
. tests/cli/lib.sh

stop() { # pid: SIGTERM, wait for the exit status
	kill -TERM "$1" 2>/dev/null
	wait "$1"
}

python3 - >"$TMP/storm.jsonl" <<'PY'
rec = ('{"ts":%d,"vm":%d,"tid":%d,"cpu":0,"vcpu":%d,"isa":"vmx","kind":"svi_update",'
       '"max_isr":49,"vmcs":"02","outcome":"written","origin":"l1_isr"}')
print('{"nestirq_trace":1,"kernel":"6.12-storm","host":"lab","flow":"6.12+","isa":"vmx"}')
for i in range(1000):
    print(rec % (1000 + i * 1000, 4242, 4250, 0))
for i in range(3):
    print(rec % (2000000 + i, 7, 8, 2))
PY
TOTAL=1003

P=$(free_port)
"$NQ" serve --listen 127.0.0.1:$P --replay "$TMP/storm.jsonl" --log "$TMP/log.jsonl" 2>"$TMP/err" &
serve=$!
pids+=($serve)
if ! wait_http "http://127.0.0.1:$P/healthz" 20; then
	fail serve_replay_starts "$(cat "$TMP/err" "$TMP/log.jsonl" 2>/dev/null)"
	finish
fi

t=violations_endpoint_bounded
curl -s -m 5 -D "$TMP/h" "http://127.0.0.1:$P/violations" >"$TMP/v.json"
got=$(python3 - "$TMP/v.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
v = d["violations"]
seqs = [x["seq"] for x in v]
ok_ev = all(x["evidence"] and x["evidence"][0]["kind"] == "svi_update" for x in v)
print(d["capacity"], d["total"], d["returned"], len(v), seqs[0], seqs[-1],
      seqs == list(range(seqs[0], seqs[0] + len(v))), ok_ev,
      sorted(set((x["vm"], x["kind"]) for x in v)))
PY
)
want="256 $TOTAL 256 256 748 $TOTAL True True [(7, 'svi_in_vmcs02'), (4242, 'svi_in_vmcs02')]"
if ! grep -qi '^content-type: application/json' "$TMP/h"; then
	fail $t "content type: $(grep -i content-type "$TMP/h")"
else
	[ "$got" = "$want" ] && pass $t || fail $t "got '$got', want '$want'"
fi

t=metrics_count_every_violation
m=$(curl -s -m 5 "http://127.0.0.1:$P/metrics")
a=$(awk '/^nestirq_violations_total\{kind="svi_in_vmcs02",vm="pid 4242"\}/ {print $NF}' <<<"$m")
b=$(awk '/^nestirq_engine_violations_total / {print $2}' <<<"$m")
[ "$a" = 1000 ] && [ "$b" = $TOTAL ] && pass $t || fail $t "vm 4242: '$a', all: '$b'"

t=log_json_lines_bounded
stop $serve; rc=$?
got=$(python3 - "$TMP/log.jsonl" <<'PY'
import json, sys
lines = open(sys.argv[1]).read().splitlines()
recs = [json.loads(l) for l in lines]          # every line is one JSON object
assert all("time" in r and r["level"] in ("info", "warning", "error") for r in recs)
viol = [r for r in recs if r.get("type") == "violation"]
sup = [r for r in recs if r.get("type") == "suppressed"]
assert all(r["level"] == "error" and r["evidence"] and r["message"] for r in viol)
assert all(r["evidence"][-1]["vmcs"] == "02" for r in viol)
print(len(viol), sorted((r["vm"], r["vcpu"]) for r in viol)[::3],
      sum(r["count"] for r in sup), [r["vm"] for r in sup], len(lines) < 30)
PY
)
want="8 [(7, 2), (4242, 0), (4242, 0)] 995 [4242] True"
[ "$rc" = 0 ] && [ "$got" = "$want" ] && pass $t || fail $t "exit $rc; got '$got', want '$want'"

t=replay_usage_errors
"$NQ" serve --replay "$TMP/nope.jsonl" --listen 127.0.0.1:$P >/dev/null 2>"$TMP/e"; rc=$?
"$NQ" serve --replay "$TMP/storm.jsonl" -p 1 >/dev/null 2>"$TMP/e2"; rc2=$?
[ $rc = 2 ] && grep -q 'nope.jsonl' "$TMP/e" && [ "$(wc -l <"$TMP/e")" = 1 ] && [ $rc2 = 2 ] &&
	pass $t || fail $t "exit $rc/$rc2: $(cat "$TMP/e" "$TMP/e2")"

# ---- journald, read back with journalctl -o json ----
t=journald_fields_read_back
why=
if [ "$(id -u)" != 0 ]; then why="not root"
elif ! command -v unshare >/dev/null || ! command -v journalctl >/dev/null; then why="no unshare or journalctl"
elif [ ! -x /lib/systemd/systemd-journald ]; then why="no /lib/systemd/systemd-journald"
elif ! err=$(unshare -m --propagation private true 2>&1); then
	# e.g. in a chroot whose root is not a mount point (the fresh-root test)
	why="no private mount namespace here: $err"
fi
if [ -n "$why" ]; then
	skip $t "$why"
	finish
fi
# In a private mount namespace: tmpfs over the journal's sockets and files,
# a journald of our own, `serve` under it as systemd would start it
# (INVOCATION_ID, stderr connected to the journal through systemd-cat, with
# JOURNAL_STREAM naming it), then the entries read back.
P2=$(free_port)
cat >"$TMP/inns.sh" <<EOS
set -u
mkdir -p /run/systemd /run/log
mount -t tmpfs tmpfs /run/systemd && mount -t tmpfs tmpfs /run/log || exit 11
[ -d /var/log/journal ] && { mount -t tmpfs tmpfs /var/log/journal || exit 11; }
mkdir -p /run/systemd/journal /run/log/journal
/lib/systemd/systemd-journald >"$TMP/journald.out" 2>&1 &
jd=\$!
for _ in \$(seq 100); do [ -S /run/systemd/journal/stdout ] && break; sleep 0.1; done
[ -S /run/systemd/journal/socket ] || exit 12
INVOCATION_ID=0123456789abcdef0123456789abcdef systemd-cat -t nestirq-test bash -c \
	'export JOURNAL_STREAM=\$(stat -L -c "%d:%i" /proc/self/fd/2); exec "$NQ" serve --listen 127.0.0.1:$P2 --replay "$TMP/storm.jsonl"' &
sv=\$!
for _ in \$(seq 100); do curl -sf -m 1 http://127.0.0.1:$P2/healthz >/dev/null 2>&1 && break; sleep 0.1; done
kill -TERM \$sv # systemd-cat and bash exec: this is nestirq
wait \$sv
sleep 0.5
journalctl -D /run/log/journal -o json --no-pager >"$TMP/journal.json"
kill \$jd; wait \$jd
EOS
timeout 60 unshare -m --propagation private bash "$TMP/inns.sh" >"$TMP/inns.out" 2>&1; rc=$?
if [ $rc = 11 ] || [ $rc = 12 ]; then
	skip $t "cannot run a private journald here (exit $rc): $(tail -n 3 "$TMP/inns.out" "$TMP/journald.out" 2>/dev/null)"
	finish
fi
got=$(python3 - "$TMP/journal.json" <<'PY'
import json, sys
es = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
v = [e for e in es if e.get("NESTIRQ_KIND") and "NESTIRQ_SUPPRESSED" not in e]
s = [e for e in es if "NESTIRQ_SUPPRESSED" in e]
ids = sorted(set(e["MESSAGE_ID"] for e in v))
ev = json.loads(v[0]["NESTIRQ_EVIDENCE"]) if v else []
other = [e for e in es if e.get("SYSLOG_IDENTIFIER") == "nestirq-test" and "serving http" in e.get("MESSAGE", "")]
print(len(v), ids, sorted(set((e["NESTIRQ_VM"], e.get("NESTIRQ_VCPU")) for e in v)),
      set(e["PRIORITY"] for e in v), ev[0]["kind"] if ev else None,
      sum(int(e["NESTIRQ_SUPPRESSED"]) for e in s), [e["MESSAGE_ID"] for e in s],
      len(other), other[0]["PRIORITY"] if other else None)
PY
)
want="8 ['52ca44577d704ced9293af498afde793'] [('4242', '0'), ('7', '2')] {'3'} svi_update 995 ['e838d80789854607bbd5384c8819e169'] 1 6"
[ "$got" = "$want" ] && pass $t || fail $t "got '$got', want '$want' ($(tail -n 5 "$TMP/inns.out"))"
finish
