#!/usr/bin/env bash
# The unit under a real systemd: a fresh Debian 12 root with systemd, the
# .deb installed and nestirq.service enabled, booted with `systemd-nspawn -b`
# (systemd as the container's PID 1, its own network namespace, all
# capabilities in the container's bounding set so that the unit's
# CapabilityBoundingSet= decides).  Checks that the service starts at boot
# with its hardening and still loads and attaches BPF, that /metrics answers
# on 127.0.0.1:9747, that `systemctl stop` unloads its BPF programs (by id)
# and that SIGKILL is restarted by Restart=on-failure.  Needs root, BPF,
# systemd-nspawn, debootstrap and the Debian packaging tools.
set -u
cd "$(dirname "$0")/../.." || exit 2
. tests/cli/lib.sh
. tests/system/lib.sh
TESTS="nspawn_boots unit_starts_at_boot metrics_answer hardening_keeps_bpf reload_keeps_serving stop_unloads_bpf sigkill_restarts
journald_violation_records"

why=$(sys_why_not)
if [ -z "$why" ]; then
	for c in systemd-nspawn nsenter dpkg-buildpackage dh bpftool git; do
		command -v $c >/dev/null || { why="$c not installed (scripts/deps.sh installs it)"; break; }
	done
fi
[ -z "$why" ] && [ ! -e /sys/kernel/btf/vmlinux ] && why="no BPF (no /sys/kernel/btf/vmlinux)"
[ -z "$why" ] && ! git rev-parse -q --verify HEAD >/dev/null 2>&1 && why="not a git checkout"
if [ -n "$why" ]; then
	for t in $TESTS; do skip $t "$why"; done
	finish
fi
sys_init
skip_rest() { # from TEST on, everything is skipped: WHY
	local t on=
	for t in $TESTS; do [ "$t" = "$1" ] && on=1; [ -n "$on" ] && skip $t "$2"; done
	finish
}

t=nspawn_boots
start=$SECONDS
build_deb || { fail $t "dpkg-buildpackage failed"; skip_rest unit_starts_at_boot "no package"; }
deb=$(ls "$DEB_DIR"/nestirq_*_amd64.deb)
root=$TMP/root
make_fresh_root "$root" systemd,systemd-sysv,dbus,curl || { fail $t "no fresh root"; skip_rest unit_starts_at_boot "no root"; }
mount_root "$root" || { fail $t "mount"; finish; }
cp "$deb" "$root/tmp/"
# For journald_violation_records: 20 SVI violations from one VM (5 shown in
# full, 15 counted in one "suppressed" entry) and 1 from another.
python3 - >"$root/root/storm.jsonl" <<'PY'
rec = ('{"ts":%d,"vm":%d,"tid":%d,"cpu":0,"vcpu":%d,"isa":"vmx","kind":"svi_update",'
       '"max_isr":49,"vmcs":"02","outcome":"written","origin":"l1_isr"}')
print('{"nestirq_trace":1,"kernel":"6.12","host":"lab","flow":"6.12+","isa":"vmx"}')
for i in range(20):
    print(rec % (1000 + i * 1000, 4242, 4250, 0))
print(rec % (90000, 7, 8, 3))
PY
if ! run_in_root "$root" "apt-get install -y -qq --no-install-recommends ./tmp/$(basename "$deb") && systemctl enable nestirq" \
	>"$TMP/apt.log" 2>&1; then
	tail -n 20 "$TMP/apt.log"
	fail $t "apt-get install ./$(basename "$deb") or systemctl enable failed"
	skip_rest unit_starts_at_boot "package not installed"
fi
umount_root "$root" || { fail $t "cannot unmount the chroot binds"; finish; }

# Hold the BPF/KVM lock for the container's whole life: the service loads
# BPF from boot to halt.
pass_prep=$((SECONDS - start))
[ -n "${NQ_LIVE_LOCK:-}" ] && exec 8>>"$NQ_LIVE_LOCK" && flock 8
start=$SECONDS
# What a container needs for nestirq (docs/production.md, "In a container"):
# nspawn's own seccomp filter answers bpf() and perf_event_open() with EPERM
# unless allowed; with a private network, nspawn shows only part of /sys and
# not /sys/module, where nestirq learns that kvm is loaded.  tracefs is
# mounted by the container's systemd (sys-kernel-tracing.mount).
nspawn_args=(--capability=all --private-network --system-call-filter='bpf perf_event_open'
	--bind-ro=/sys/module)
[ -e /dev/kvm ] && nspawn_args+=(--bind=/dev/kvm)
if ! boot_nspawn "$root" "nestirq-test-$$" "${nspawn_args[@]}"; then
	tail -n 30 "$TMP/nspawn-nestirq-test-$$.log"
	fail $t "systemd-nspawn -b did not boot to a running systemd in 120 s"
	skip_rest unit_starts_at_boot "container did not boot"
fi
pass "$t (systemd $(run_in_container 'systemctl --version | head -n 1 | cut -d" " -f2') as PID 1; root and package $pass_prep s, boot $((SECONDS - start)) s)"

c() { run_in_container "$@"; }
prop() { c "systemctl show -P $1 nestirq"; }
wait_metrics() { # seconds -> the /metrics body, or nothing

	for _ in $(seq $(($1 * 5))); do
		c 'curl -sf -m 1 http://127.0.0.1:9747/metrics' 2>/dev/null && return 0
		sleep 0.2
	done
	return 1
}
journal() { c 'journalctl -u nestirq --no-pager -o cat' | tail -n "${1:-10}"; }

t=unit_starts_at_boot
state=
for _ in $(seq 100); do
	state=$(c 'systemctl is-active nestirq')
	[ "$state" = active ] && break
	sleep 0.2
done
if [ "$state" = active ] && [ "$(c 'systemctl is-enabled nestirq')" = enabled ]; then
	pass $t
else
	journal 20
	fail $t "nestirq.service is $state after boot"
	skip_rest metrics_answer "the service did not start"
fi

t=metrics_answer
if m=$(wait_metrics 20) && grep -q '^nestirq_build_info{' <<<"$m"; then
	pass $t
else
	journal 20
	fail $t "no /metrics on 127.0.0.1:9747 inside the container"
fi

# bpf_ids PID: the BPF programs and maps the process holds, by id ("prog:12
# map:7"; not machine-wide).  loaded IDS...: those still in the kernel.
bpf_ids() {
	c "grep -hE '^(prog|map)_id:' /proc/$1/fdinfo/* 2>/dev/null" | sed -E 's/_id:[[:space:]]*/:/' | sort -u
}
loaded() { # (the kernel frees them asynchronously: up to 5 s)
	local o left
	for _ in $(seq 50); do
		left=$(for o in "$@"; do bpftool "${o%:*}" show id "${o#*:}" >/dev/null 2>&1 && echo "$o"; done)
		[ -z "$left" ] && return 0
		sleep 0.1
	done
	echo "$left"
}

# The hardening is in force (capabilities, no_new_privs, seccomp) and BPF
# still loads under it; where this kernel has KVM's tracepoints, the accept
# probe also attaches (a host without KVM has nothing to attach to).
t=hardening_keeps_bpf
pid=$(prop MainPID)
status=$(c "cat /proc/$pid/status")
capeff=$(awk '/^CapEff:/ {print $2}' <<<"$status")
ids=$(bpf_ids "$pid")
nprogs=$(grep -c '^prog:' <<<"$ids")
if grep -qw __traceiter_kvm_apic_accept_irq /proc/kallsyms; then want=1; else want=0; fi
if [ "$capeff" != 000000c000000000 ]; then
	fail $t "CapEff $capeff, expected CAP_BPF|CAP_PERFMON only"
elif ! grep -qP '^NoNewPrivs:\t1$' <<<"$status" || ! grep -qP '^Seccomp:\t2$' <<<"$status"; then
	fail $t "no_new_privs or seccomp not set: $(grep -E 'NoNewPrivs|Seccomp:' <<<"$status" | tr '\n' ' ')"
elif ! grep -q '^map:' <<<"$ids" || { [ $want = 1 ] && [ "$nprogs" = 0 ]; }; then
	journal 20
	fail $t "the service holds no BPF map or program: $(echo $ids)"
elif ! grep -q "^nestirq_probe_attached{probe=\"accept\"} $want\$" <<<"$m"; then
	journal 20
	fail $t "accept attached should be $want here: $(grep probe_attached <<<"$m" | tr '\n' ' ')"
else
	pass "$t ($nprogs programs, $(grep -c '^map:' <<<"$ids") maps, $(grep -c '^nestirq_probe_attached{.*} 1$' <<<"$m") probes attached$([ $want = 0 ] && echo '; no KVM tracepoints on this kernel, so no program to load'))"
fi

# systemctl reload: SIGHUP to the same process, which keeps serving.
t=reload_keeps_serving
if ! out=$(c 'systemctl reload nestirq' 2>&1); then
	fail $t "systemctl reload: $out"
elif [ "$(prop MainPID)" != "$pid" ] || ! wait_metrics 5 >/dev/null; then
	fail $t "after reload: MainPID $(prop MainPID) (was $pid), metrics $(wait_metrics 2 | head -c 60)"
else
	pass $t
fi

t=stop_unloads_bpf
c 'systemctl stop nestirq'
if [ -z "$ids" ]; then
	fail $t "the service held no BPF object"
elif [ "$(c 'systemctl is-active nestirq')" != inactive ] || [ "$(prop ExecMainStatus)" != 0 ]; then
	fail $t "after systemctl stop: $(c 'systemctl is-active nestirq'), status $(prop ExecMainStatus)"
elif left=$(loaded $ids) && [ -n "$left" ]; then
	fail $t "BPF objects still loaded after stop: $(echo $left)"
elif ! journal 10 | grep -q 'stopping: .*probes detached'; then
	fail $t "no shutdown line in the journal: $(journal 3)"
else
	pass "$t (ids $(echo $ids))"
fi

t=sigkill_restarts
c 'systemctl start nestirq'
pid=$(prop MainPID)
ids=$(bpf_ids "$pid")
c "kill -KILL $pid"
# RestartSec=5s: a new main process within 15 s.
newpid=
for _ in $(seq 75); do
	newpid=$(prop MainPID)
	[ "$newpid" != 0 ] && [ "$newpid" != "$pid" ] && [ "$(c 'systemctl is-active nestirq')" = active ] && break
	sleep 0.2
done
if [ "$newpid" = 0 ] || [ "$newpid" = "$pid" ]; then
	journal 10
	fail $t "not restarted after SIGKILL (MainPID $newpid, NRestarts $(prop NRestarts))"
elif [ "$(prop NRestarts)" != 1 ]; then
	fail $t "NRestarts is $(prop NRestarts), expected 1"
elif ! wait_metrics 20 | grep -q "^nestirq_probe_attached{probe=\"accept\"} $want\$"; then
	fail $t "the restarted service does not serve metrics"
elif left=$(loaded $ids) && [ -n "$left" ]; then
	fail $t "the killed process' BPF objects are still loaded: $(echo $left)"
else
	pass "$t (pid $pid -> $newpid)"
fi
c 'systemctl stop nestirq'

# Issue 12 section 5: under a real systemd, `serve`'s violations reach the
# journal as structured entries, read back with journalctl -o json.
t=journald_violation_records
c 'systemd-run --unit=nestirq-replay --property=Type=exec /usr/bin/nestirq serve --listen 127.0.0.1:9748 --replay /root/storm.jsonl' >/dev/null 2>&1
for _ in $(seq 50); do c 'curl -sf -m 1 http://127.0.0.1:9748/healthz' >/dev/null 2>&1 && break; sleep 0.2; done
c 'systemctl stop nestirq-replay' >/dev/null 2>&1
c 'journalctl -u nestirq-replay -o json --no-pager' >"$TMP/journal.json" 2>/dev/null
got=$(python3 - "$TMP/journal.json" <<'PY'
import json, sys
es = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
v = [e for e in es if e.get("NESTIRQ_KIND") and "NESTIRQ_SUPPRESSED" not in e]
s = [e for e in es if "NESTIRQ_SUPPRESSED" in e]
ev = json.loads(v[0]["NESTIRQ_EVIDENCE"]) if v else [{}]
print(len(v), sorted(set(e["MESSAGE_ID"] for e in v)),
      sorted(set((e["NESTIRQ_VM"], e.get("NESTIRQ_VCPU")) for e in v)),
      sorted(set(e["PRIORITY"] for e in v)), ev[0].get("kind"),
      [(e["NESTIRQ_VM"], e["NESTIRQ_SUPPRESSED"]) for e in s])
PY
)
want="6 ['52ca44577d704ced9293af498afde793'] [('4242', '0'), ('7', '3')] ['3'] svi_update [('4242', '15')]"
if [ "$got" = "$want" ]; then
	pass $t
else
	c 'journalctl -u nestirq-replay --no-pager -o cat' | tail -n 10
	fail $t "journalctl -o json: got '$got', want '$want'"
fi
stop_nspawn
finish
