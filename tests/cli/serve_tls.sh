#!/usr/bin/env bash
# Issue 12 §7: serve --web.config.file, the Prometheus exporter-toolkit
# format.  Malformed files are refused with one line naming the problem;
# then a real Prometheus scrapes `serve --replay` over TLS (a self-signed
# certificate made here) with basic auth (a bcrypt hash made here), and a
# job with the wrong password is refused.  Loopback only, no privilege.
set -u
cd "$(dirname "$0")/../.." || exit 2
. tests/cli/lib.sh

why=
command -v openssl >/dev/null || why="no openssl"
python3 -W ignore -c 'import crypt; assert crypt.METHOD_BLOWFISH' 2>/dev/null || why="${why:-python3 without bcrypt in crypt}"
if [ -n "$why" ]; then
	for t in malformed_configs_one_line https_basic_auth prometheus_scrapes_tls_basic_auth; do skip $t "$why"; done
	finish
fi
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
	-subj /CN=nestirq-test -addext subjectAltName=IP:127.0.0.1 \
	-keyout "$TMP/server.key" -out "$TMP/server.crt" >/dev/null 2>&1
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
	-subj /CN=other -keyout "$TMP/other.key" -out "$TMP/other.crt" >/dev/null 2>&1
PW=s3cret-scrape
HASH=$(python3 -W ignore -c 'import crypt, sys; print(crypt.crypt(sys.argv[1], crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=1024)))' "$PW")
python3 - >"$TMP/t.jsonl" <<'PY'
print('{"nestirq_trace":1,"kernel":"6.12","host":"lab","flow":"6.12+","isa":"vmx"}')
for i in range(500):
    print('{"ts":%d,"vm":4242,"tid":4243,"cpu":1,"vcpu":0,"kind":"irq_accept","vector":49}' % (1000 + i))
PY

t=malformed_configs_one_line
ok=1
check_bad() { # name, expected substring; the config on stdin
	cat >"$TMP/bad-$1.yml"
	"$NQ" serve --listen 127.0.0.1:9 --replay "$TMP/t.jsonl" --web.config.file "$TMP/bad-$1.yml" \
		>/dev/null 2>"$TMP/e"
	local rc=$?
	if [ $rc != 2 ] || [ "$(wc -l <"$TMP/e")" != 1 ] || ! grep -qF -- "$2" "$TMP/e"; then
		ok=0
		echo "  $1: exit $rc: $(cat "$TMP/e") (wanted '$2')"
	fi
}
check_bad unknown_key "line 1: unknown key 'tls_config'" <<<"tls_config: {}"
check_bad not_yaml "did not find expected ',' or ']'" <<<$'basic_auth_users:\n  a: [b'
check_bad plain_password "basic_auth_users.prometheus: not a bcrypt hash" <<<$'basic_auth_users:\n  prometheus: hunter2'
check_bad no_key_file "needs both cert_file and key_file" <<<$'tls_server_config:\n  cert_file: server.crt'
check_bad missing_cert "tls_server_config.cert_file: $TMP/nope.crt: No such file" <<<$'tls_server_config:\n  cert_file: nope.crt\n  key_file: server.key'
check_bad mismatched "cert_file and key_file do not load" <<<$'tls_server_config:\n  cert_file: server.crt\n  key_file: other.key'
check_bad client_auth "only NoClientCert is supported" <<<$'tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  client_auth_type: RequireAndVerifyClientCert'
check_bad min_version "min_version: 'TLS11' is not supported" <<<$'tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  min_version: TLS11'
check_bad headers "http_server_config.headers is not supported" <<<$'http_server_config:\n  headers: {X-A: b}'
check_bad colon_user "a user name must be non-empty, without ':'" <<<$'basic_auth_users:\n  "a:b": '"$HASH"
"$NQ" serve --replay "$TMP/t.jsonl" --web.config.file "$TMP/none.yml" >/dev/null 2>"$TMP/e"
[ $? = 2 ] && grep -q "none.yml: No such file" "$TMP/e" || { ok=0; echo "  missing file: $(cat "$TMP/e")"; }
[ $ok = 1 ] && pass $t || fail $t "a malformed config was not refused with one line naming it"

# Relative paths are relative to the config file, as in exporter-toolkit.
cat >"$TMP/web.yml" <<EOF2
tls_server_config:
  cert_file: server.crt
  key_file: server.key
basic_auth_users:
  prometheus: '$HASH'
EOF2
P=$(free_port)
"$NQ" serve --listen 127.0.0.1:$P --replay "$TMP/t.jsonl" --web.config.file "$TMP/web.yml" \
	--log "$TMP/serve.log" 2>"$TMP/serve.err" &
pids+=($!)
for _ in $(seq 100); do
	[ "$(curl -s -m 1 --cacert "$TMP/server.crt" -o /dev/null -w '%{http_code}' "https://127.0.0.1:$P/healthz")" = 401 ] && break
	sleep 0.1
done

t=https_basic_auth
U=https://127.0.0.1:$P
c_ok=$(curl -s -m 5 --cacert "$TMP/server.crt" -u "prometheus:$PW" -o "$TMP/m" -w '%{http_code}' $U/metrics)
c_none=$(curl -s -m 5 --cacert "$TMP/server.crt" -D "$TMP/h" -o /dev/null -w '%{http_code}' $U/metrics)
c_bad=$(curl -s -m 5 --cacert "$TMP/server.crt" -u "prometheus:wrong" -o /dev/null -w '%{http_code}' $U/metrics)
c_user=$(curl -s -m 5 --cacert "$TMP/server.crt" -u "nobody:$PW" -o /dev/null -w '%{http_code}' $U/violations)
c_plain=$(curl -s -m 5 -u "prometheus:$PW" -o /dev/null -w '%{http_code}' http://127.0.0.1:$P/metrics)
c_tls11=$(curl -s -m 5 --cacert "$TMP/server.crt" --tls-max 1.1 -u "prometheus:$PW" -o /dev/null -w '%{http_code}' $U/metrics)
if [ "$c_ok" = 200 ] && grep -q '^nestirq_events_total{kind="irq_accept"} 500$' "$TMP/m" &&
	[ "$c_none" = 401 ] && grep -qi '^www-authenticate: basic realm="nestirq"' "$TMP/h" &&
	[ "$c_bad" = 401 ] && [ "$c_user" = 401 ] && [ "$c_plain" != 200 ] && [ "$c_tls11" != 200 ]; then
	pass $t
else
	fail $t "ok:$c_ok none:$c_none wrong password:$c_bad wrong user:$c_user plain http:$c_plain TLS1.1:$c_tls11 ($(cat "$TMP/serve.err"))"
fi

t=prometheus_scrapes_tls_basic_auth
if ! command -v prometheus >/dev/null; then
	skip $t "prometheus not installed (scripts/deps.sh installs it)"
	finish
fi
PP=$(free_port)
cat >"$TMP/prom.yml" <<EOF2
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: nestirq
    scheme: https
    tls_config:
      ca_file: $TMP/server.crt
    basic_auth:
      username: prometheus
      password: $PW
    static_configs:
      - targets: ['127.0.0.1:$P']
  - job_name: wrong_password
    scheme: https
    tls_config:
      ca_file: $TMP/server.crt
    basic_auth:
      username: prometheus
      password: not-it
    static_configs:
      - targets: ['127.0.0.1:$P']
EOF2
prometheus --config.file="$TMP/prom.yml" --storage.tsdb.path="$TMP/tsdb" \
	--web.listen-address=127.0.0.1:$PP --log.level=warn >"$TMP/prom.log" 2>&1 &
pids+=($!)
q() { curl -sf -m 5 --get --data-urlencode "query=$1" "http://127.0.0.1:$PP/api/v1/query" | jq -r '.data.result[0].value[1] // empty' 2>/dev/null; }
up= n= bad=
for _ in $(seq 150); do
	up=$(q 'up{job="nestirq"}')
	n=$(q 'nestirq_events_total{job="nestirq",kind="irq_accept"}')
	bad=$(q 'up{job="wrong_password"}')
	[ "$up" = 1 ] && [ "$n" = 500 ] && [ "$bad" = 0 ] && break
	sleep 0.2
done
if [ "$up" = 1 ] && [ "$n" = 500 ] && [ "$bad" = 0 ]; then
	pass $t
else
	fail $t "up=$up irq_accept=$n wrong-password job up=$bad; $(tail -n 3 "$TMP/prom.log")"
fi
finish
