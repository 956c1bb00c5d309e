#!/bin/sh
# /init of the end-to-end initramfs (busybox sh).  Loads KVM with nested=1,
# runs `nestirq doctor`, then `nestirq record` around the workload, and
# sends everything back over the serial console between markers:
#   NQ_E2E_BEGIN ... NQ_E2E_DOCTOR_BEGIN/END ... NQ_E2E_WORKLOAD_BEGIN/END
#   ... NQ_E2E_TRACE_BEGIN <base64 of the gzipped trace> NQ_E2E_TRACE_END
#   ... NQ_E2E_END status=<ok|error> reason=<...>
# Kernel command line parameters: nq.apicv=0|1 (kvm_intel enable_apicv),
# nq.rounds=N (workload rounds), nq.wltimeout=SECONDS, nq.steptimeout=SECONDS
# (per workload step), nq.wlmode=ackonly (VMX: skip the no-ack-on-exit
# part), nq.record=0 (no nestirq), nq.verbose=1, nq.tail=SECONDS
# (sleep before power-off so the emulated UART drains), nq.selftest=NAME
# (instead of the workload: the upstream KVM selftest /bin/NAME under
# `nestirq check -- /bin/NAME`, its TAP between NQ_E2E_CHECK_BEGIN/END;
# the recorder runs around it as for a workload).
export PATH=/bin:/sbin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mkdir -p /tmp /sys/kernel/tracing /sys/kernel/debug /sys/fs/bpf
mount -t tmpfs tmp /tmp
mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
mount -t bpf bpf /sys/fs/bpf 2>/dev/null

arg() { # value of nq.$1 on the kernel command line, or $2
	v=$(tr ' ' '\n' </proc/cmdline | sed -n "s/^nq\.$1=//p" | tail -n1)
	echo "${v:-$2}"
}
APICV=$(arg apicv 1)
ROUNDS=$(arg rounds 1)
WLTIMEOUT=$(arg wltimeout 600)
TAIL=$(arg tail 3)
NQ_STEP_TIMEOUT=$(arg steptimeout 60)
export NQ_STEP_TIMEOUT
[ "$(arg verbose 0)" = 1 ] && export NQ_VERBOSE=1
up() { cut -d' ' -f1 /proc/uptime; }

finish() {
	echo "NQ_E2E_END status=$1 reason=$2 uptime=$(up)"
	sleep "$TAIL"
	poweroff -f
}

echo "NQ_E2E_BEGIN uptime=$(up)"
echo "NQ_E2E_KERNEL $(uname -r)"
echo "NQ_E2E_CPU $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-)"
F=$(grep -m1 '^flags' /proc/cpuinfo)
ISA=none
echo "$F" | grep -qw vmx && ISA=vmx
echo "$F" | grep -qw svm && ISA=svm
echo "NQ_E2E_ISA $ISA"
grep -m1 '^vmx flags' /proc/cpuinfo

insmod /mods/irqbypass.ko && insmod /mods/kvm.ko || finish error "insmod kvm failed"
case $ISA in
vmx)
	insmod /mods/kvm-intel.ko nested=1 enable_apicv="$APICV" || finish error "insmod kvm-intel failed"
	P=kvm_intel WL=/bin/nq_vmx_irq
	;;
svm)
	insmod /mods/ccp.ko && insmod /mods/kvm-amd.ko nested=1 || finish error "insmod kvm-amd failed"
	P=kvm_amd WL=/bin/nq_svm_irq
	;;
*) finish error "no vmx or svm in the emulated CPU" ;;
esac
[ -c /dev/kvm ] || finish error "no /dev/kvm"
for p in nested enable_apicv ept npt nrips avic vgif; do
	[ -e /sys/module/$P/parameters/$p ] && echo "NQ_E2E_PARAM $P.$p=$(cat /sys/module/$P/parameters/$p)"
done
awk 'BEGIN { n = split("kvm_apic_ack_interrupt kvm_get_apic_interrupt kvm_apic_has_interrupt vmx_check_nested_events svm_check_nested_events nested_vmx_vmexit vmx_hwapic_isr_update vmx_vcpu_load_vmcs", w, " "); for (i = 1; i <= n; i++) c[w[i]] = 0 }
	$3 in c { c[$3]++ }
	END { for (i = 1; i <= n; i++) print "NQ_E2E_KSYM " w[i] " " c[w[i]] }' /proc/kallsyms
ls /sys/kernel/btf | tr '\n' ' ' | sed 's/^/NQ_E2E_BTF /'
echo

echo "NQ_E2E_DOCTOR_BEGIN uptime=$(up)"
nestirq doctor 2>&1
echo "NQ_E2E_DOCTOR_END rc=$?"
echo "NQ_E2E_DOCTOR_JSON_BEGIN"
nestirq doctor --json 2>&1
echo "NQ_E2E_DOCTOR_JSON_END rc=$?"

echo "NQ_E2E_RECORD_START uptime=$(up)"
: >/tmp/record.out
if [ "$(arg record 1)" = 1 ]; then
	nestirq record -o /tmp/t.bin >/tmp/record.out 2>&1 &
	REC=$!
else
	echo "tracing: off (nq.record=0)" >/tmp/record.out
	REC=999999
fi
# Wait until the recorder says it attached ("tracing: ..."), 120 s at most.
i=0
while ! grep -q 'tracing:' /tmp/record.out && [ $i -lt 1200 ] && kill -0 $REC 2>/dev/null; do
	sleep 0.1
	i=$((i + 1))
done
sleep 1
echo "NQ_E2E_WORKLOAD_BEGIN uptime=$(up)"
ST=$(arg selftest "")
if [ -n "$ST" ]; then
	[ -x "/bin/$ST" ] || finish error "selftest /bin/$ST not in the initramfs"
	echo "NQ_E2E_CHECK_BEGIN $ST"
	timeout "$WLTIMEOUT" nestirq check -- "/bin/$ST" >/tmp/check.tap 2>/tmp/check.err
	CRC=$?
	cat /tmp/check.tap
	echo "NQ_E2E_CHECK_END rc=$CRC"
	sed 's/^/NQ_E2E_SELFTEST_OUT /' /tmp/check.err
	# The selftest passing is what this run needs; nestirq's verdict (the
	# rest of the TAP, rc) is judged on the host.
	WRC=0
	grep -q '^not ok [0-9]* - workload' /tmp/check.tap && WRC=1
else
	# shellcheck disable=SC2046 # no argument at all when nq.wlmode is unset
	timeout "$WLTIMEOUT" $WL "$ROUNDS" $(arg wlmode "") 2>&1
	WRC=$?
fi
echo "NQ_E2E_WORKLOAD_END rc=$WRC uptime=$(up)"
sleep 1
kill -INT $REC 2>/dev/null
i=0
while kill -0 $REC 2>/dev/null && [ $i -lt 300 ]; do
	sleep 0.1
	i=$((i + 1))
done
kill -9 $REC 2>/dev/null
wait $REC
RRC=$?
echo "NQ_E2E_RECORD_END rc=$RRC uptime=$(up)"
sed 's/^/NQ_E2E_RECORD_OUT /' /tmp/record.out
dmesg | grep -iE 'kvm|warn|bug|rip:' | tail -n 30 | sed 's/^/NQ_E2E_DMESG /'
if [ -s /tmp/t.bin ]; then
	echo "NQ_E2E_TRACE_BEGIN size=$(wc -c </tmp/t.bin)"
	gzip -9 -c /tmp/t.bin | base64
	echo "NQ_E2E_TRACE_END"
fi
[ "$WRC" = 0 ] || finish error "workload rc=$WRC"
finish ok none
