#!/usr/bin/env bash
# The README's main job: doctor, then a live run where this host can check
# nested VMX/SVM, otherwise a short live run on the tracepoints this kernel has
# and the bundled demo trace.
set -u
BUILD=${BUILD:-build}
NQ=$BUILD/nestirq
cd "$(dirname "$0")/.."
# On a host shared with other BPF/KVM users: hold NQ_LIVE_LOCK while running.
if [ -n "${NQ_LIVE_LOCK:-}" ] && [ -z "${NQ_LIVE_LOCKED:-}" ]; then
	NQ_LIVE_LOCKED=1 exec flock "$NQ_LIVE_LOCK" bash scripts/run-main.sh "$@"
fi

echo "== nestirq doctor =="
"$NQ" doctor
doctor_rc=$?

if [ "$doctor_rc" -eq 0 ]; then
	echo "== nestirq watch (${NQ_RUN_SECONDS:-30}s) =="
	exec "$NQ" watch --duration "${NQ_RUN_SECONDS:-30}s"
fi

if [ "$(id -u)" -eq 0 ] && [ "$doctor_rc" -eq 4 ]; then
	echo
	echo "== nestirq watch, 5s, with the probes this kernel has =="
	"$NQ" watch --duration 5s --interval 1s &
	watch_pid=$!
	msi=$BUILD/tests/live/kvm_msi
	if [ -c /dev/kvm ] && [ -x "$msi" ]; then
		# Something to see: a throwaway VM (in-kernel irqchip, 2 vCPUs)
		# takes 1000 MSIs, each a real kvm_apic_accept_irq.
		sleep 1
		echo go | "$msi" serve 2 1000 >/dev/null
	fi
	wait "$watch_pid"
fi

echo
echo "== no nested VMX/SVM to watch here: replaying the demo trace =="
"$NQ" replay tests/scenarios/demo.jsonl
rc=$?
if [ "$rc" -eq 1 ]; then
	echo "demo: nestirq caught the two bugs planted in the demo trace (exit 1 is the expected verdict)"
	exit 0
fi
echo "demo: unexpected exit status $rc"
exit 1
