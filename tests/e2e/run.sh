#!/usr/bin/env bash
# run.sh EMULATOR SERIES [ROUNDS]
#   EMULATOR: qemu   QEMU TCG -cpu max (nSVM, kvm_amd)
#             bochs  Debian 12's Bochs 2.7, corei7_haswell_4770 (nVMX, no APICv)
#             bochs3 Bochs 3.0 from trixie's source with the PI-descriptor fix,
#                    corei7_skylake_x, kvm_intel enable_apicv=0 (nVMX)
#             bochs3apicv  the same with enable_apicv=1 (APICv: real SVI writes)
#             bochs31apicv sid's Bochs 3.1 binary package (unpatched; run with the
#                    libraries of a debootstrap'ed sid root), corei7_skylake_x,
#                    enable_apicv=1; bochs31 the same with enable_apicv=0
#   SERIES:   6.1 (bookworm) | 6.12 (6.12.95, bookworm-backports) |
#             6.12.117 (trixie) | 6.16 (6.16.12, trixie-backports) |
#             7.3 (7.3.4, trixie-backports); see e2e_kernel_pkg in lib.sh
# Boots the kernel with the e2e initramfs, runs doctor, record + workload in
# the guest, brings back the trace over the serial console and checks it
# (check.sh).  Prints PASS:/FAIL:/SKIP: lines; every step has a timeout and
# a failure shows the guest log.  Results stay in cache/runs/EMU-SERIES/.
# Env: E2E_SELFTEST=NAME (run upstream's KVM selftest NAME of this kernel's
# linux-source under `nestirq check --` instead of the workload; 7.3, 6.12.117),
# E2E_TIMEOUT (seconds for the whole boot; default 300 QEMU, 900 Bochs),
# E2E_BOCHS_MODEL (another Bochs CPU model).
set -uo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
kill_tree() { # pid: SIGKILL it and all its descendants (by parent pid)
	local c
	for c in $(ps -o pid= --ppid "$1" 2>/dev/null); do
		kill_tree "$c"
	done
	kill -KILL "$1" 2>/dev/null
}

# Bochs does not stop on a guest reboot (a kernel panic reboots into the
# BIOS again): watch the serial log and end the emulator early when the guest
# panicked, rebooted, or finished and did not power off within 90 s.
watch_emu() { # pid of `timeout ... emulator`
	local pid=$1 done_at=0 why="" start
	start=$(date +%s)
	while kill -0 "$pid" 2>/dev/null; do
		sleep 2
		if [ $(($(date +%s) - start)) -ge "$T" ]; then
			why="time limit ${T} s"
		elif grep -aq 'Kernel panic' "$out/serial.log" 2>/dev/null; then
			why="kernel panic"
		elif [ "$(grep -ac 'Loading /vmlinuz' "$out/serial.log" 2>/dev/null || echo 0)" -gt 1 ]; then
			why="the guest rebooted"
		elif grep -aq '^NQ_E2E_END' "$out/serial.log" 2>/dev/null; then
			[ "$done_at" -eq 0 ] && done_at=$(date +%s)
			[ $(($(date +%s) - done_at)) -gt 90 ] && why="no power-off 90 s after the end"
		fi
		if [ -n "$why" ]; then
			e2e_log "$name: stopping the emulator: $why"
			echo "$why" >"$out/stopped"
			kill_tree "$pid"
			wait "$pid" 2>/dev/null
			return 137
		fi
	done
	wait "$pid"
}

# The whole run is one function: bash parses it before running it, so the
# file can be edited while a run is going on.
main() {
emu=${1:?emulator}
series=${2:?series}
rounds=${3:-1}
name=$emu-$series
out=$E2E_CACHE/runs/$name
rm -rf "$out"
mkdir -p "$out"
K=$E2E_CACHE/k/$series

fail_with_log() { # name reason
	echo "FAIL: $1: $2"
	echo "---- guest log ($out/serial.log), last 60 lines ----"
	tr -d '\r' <"$out/serial.log" 2>/dev/null | grep -av '^[A-Za-z0-9+/=]\{60,\}$' | tail -n 60
	echo "---- end of guest log ----"
	[ -f "$out/emu.log" ] && { echo "---- emulator log (tail) ----"; tail -n 15 "$out/emu.log"; }
	exit 1
}

bash "$E2E_DIR/fetch.sh" kernel "$series" >"$out/fetch.log" 2>&1 || { cat "$out/fetch.log"; echo "FAIL: $name: fetch kernel $series"; exit 1; }
bash "$E2E_DIR/fetch.sh" workloads >>"$out/fetch.log" 2>&1 || { cat "$out/fetch.log"; echo "FAIL: $name: build workloads"; exit 1; }
case $emu in
bochs31*) bash "$E2E_DIR/fetch.sh" bochs31 >>"$out/fetch.log" 2>&1 || { tail -30 "$out/fetch.log"; echo "FAIL: $name: bochs 3.1 (sid root)"; exit 1; } ;;
bochs3*) bash "$E2E_DIR/fetch.sh" bochs3 >>"$out/fetch.log" 2>&1 || { tail -30 "$out/fetch.log"; echo "FAIL: $name: build bochs 3.0"; exit 1; } ;;
esac
if [ -n "${E2E_SELFTEST:-}" ]; then
	E2E_SELFTESTS="${E2E_SELFTESTS:-$E2E_SELFTEST}" bash "$E2E_DIR/fetch.sh" selftests "$series" >>"$out/fetch.log" 2>&1 ||
		{ tail -30 "$out/fetch.log"; echo "FAIL: $name: build selftest $E2E_SELFTEST"; exit 1; }
fi
bash "$E2E_DIR/mkinitramfs.sh" "$series" "$out/initrd.cpio" >>"$out/fetch.log" 2>&1 || { cat "$out/fetch.log"; echo "FAIL: $name: initramfs"; exit 1; }

apicv=0 wlmode=""
# Under Bochs 3.0 with APICv, L1 taking the IRQ itself after an exit without
# ack-on-exit gets vector 0 (docs/e2e.md): run the ack-on-exit part only.
[ "$emu" = bochs3apicv ] && apicv=1 wlmode="nq.wlmode=ackonly"
[ "$emu" = bochs31apicv ] && apicv=1
apicv=${E2E_APICV:-$apicv}
# E2E_WLMODE=ackonly|full overrides the workload's plan.
case ${E2E_WLMODE:-} in ackonly) wlmode="nq.wlmode=ackonly" ;; full) wlmode="" ;; esac
[ -n "${E2E_SELFTEST:-}" ] && wlmode="nq.selftest=$E2E_SELFTEST"
cmdline="console=ttyS0,115200 panic=-1 loglevel=4 nq.apicv=$apicv nq.rounds=$rounds $wlmode ${E2E_CMDLINE:-}"
t0=$(date +%s)
case $emu in
qemu)
	T=${E2E_TIMEOUT:-300}
	timeout -s KILL "$T" qemu-system-x86_64 -accel tcg -cpu max -m 2048 -smp 1 -display none \
		-no-reboot -monitor none -serial "file:$out/serial.log" -kernel "$K/vmlinuz" \
		-initrd "$out/initrd.cpio" -append "$cmdline quiet nq.tail=0" </dev/null >"$out/emu.log" 2>&1
	rc=$?
	;;
bochs | bochs3 | bochs3apicv | bochs31 | bochs31apicv)
	T=${E2E_TIMEOUT:-900}
	iso=$out/iso
	mkdir -p "$iso/isolinux"
	cp /usr/lib/ISOLINUX/isolinux.bin /usr/lib/syslinux/modules/bios/ldlinux.c32 "$iso/isolinux/"
	cp "$K/vmlinuz" "$iso/vmlinuz"
	cp "$out/initrd.cpio" "$iso/initrd"
	cat >"$iso/isolinux/isolinux.cfg" <<EOF
SERIAL 0 115200
DEFAULT linux
PROMPT 0
TIMEOUT 0
LABEL linux
  KERNEL /vmlinuz
  APPEND initrd=/initrd $cmdline tsc=reliable nq.tail=15
EOF
	xorriso -as mkisofs -quiet -o "$out/boot.iso" -b isolinux/isolinux.bin -c isolinux/boot.cat \
		-no-emul-boot -boot-load-size 4 -boot-info-table "$iso" >"$out/xorriso.log" 2>&1 ||
		{ cat "$out/xorriso.log"; echo "FAIL: $name: xorriso"; exit 1; }
	rm -rf "$iso"
	rom=/usr/share/bochs/BIOS-bochs-latest vgarom=/usr/share/vgabios/vgabios.bin
	case $emu in
	bochs) model=corei7_haswell_4770 display=term bin=bochs ;;
	bochs31*)
		# sid's binary with the sid root's own ld.so and libraries.
		R=$E2E_CACHE/b31/root
		model=corei7_skylake_x display=term rom=$R/usr/share/bochs/BIOS-bochs-latest
		vgarom=$R/usr/share/vgabios/vgabios.bin
		bin="env LTDL_LIBRARY_PATH=$R/usr/lib/x86_64-linux-gnu/bochs/plugins $R/usr/lib64/ld-linux-x86-64.so.2"
		bin="$bin --library-path $R/usr/lib/x86_64-linux-gnu $R/usr/bin/bochs-bin"
		;;
	*) model=corei7_skylake_x display=nogui bin=$E2E_CACHE/bochs3/bin/bochs ;;
	esac
	cat >"$out/bochsrc" <<EOF
megs: 1024
cpu: model=${E2E_BOCHS_MODEL:-$model}, count=1, ips=200000000, reset_on_triple_fault=0, ignore_bad_msrs=1
romimage: file=$rom
vgaromimage: file=$vgarom
ata0: enabled=1, ioaddr1=0x1f0, ioaddr2=0x3f0, irq=14
ata0-master: type=cdrom, path=$out/boot.iso, status=inserted
boot: cdrom
display_library: $display
com1: enabled=1, mode=file, dev=$out/serial.log
log: $out/bochs.log
panic: action=fatal
error: action=${E2E_BOCHS_ERROR:-ignore}
info: action=${E2E_BOCHS_INFO:-ignore}
debug: action=ignore
clock: sync=none, time0=local
pci: enabled=1, chipset=i440fx
EOF
	if [ "$display" = term ]; then
		# Debian's builds have the internal debugger (needs "c") and a term display.
		echo c >"$out/dbg.rc"
		timeout -s KILL $((T + 60)) script -qfec "$bin -q -f $out/bochsrc -rc $out/dbg.rc" /dev/null \
			</dev/null >"$out/emu.log" 2>&1 &
		watch_emu $!
		rc=$?
	else
		timeout -s KILL $((T + 60)) "$bin" -q -f "$out/bochsrc" </dev/null >"$out/emu.log" 2>&1 &
		watch_emu $!
		rc=$?
	fi
	;;
*) e2e_die "unknown emulator $emu" ;;
esac
t1=$(date +%s)
echo "$((t1 - t0))" >"$out/boot_seconds"
tr -d '\r' <"$out/serial.log" >"$out/serial.txt" 2>/dev/null
e2e_log "$name: emulator exit $rc after $((t1 - t0)) s"
	[ -f "$out/stopped" ] && [ "$(cat "$out/stopped")" != "no power-off 90 s after the end" ] &&
		fail_with_log "$name" "stopped: $(cat "$out/stopped") after $((t1 - t0)) s"
	[ "$rc" = 137 ] && [ ! -f "$out/stopped" ] && fail_with_log "$name" "the emulator was killed after $((t1 - t0)) s (limit ${T} s)"
grep -q '^NQ_E2E_BEGIN' "$out/serial.txt" || fail_with_log "$name" "the guest never reached /init (emulator exit $rc)"
grep -q '^NQ_E2E_END' "$out/serial.txt" || fail_with_log "$name" "the guest did not finish (emulator exit $rc)"
if ! grep -q '^NQ_E2E_END status=ok' "$out/serial.txt"; then
	fail_with_log "$name" "guest: $(grep '^NQ_E2E_END' "$out/serial.txt")"
fi
echo "PASS: $name: boot, KVM nested=1, workload and record in the guest ($((t1 - t0)) s)"
case $wlmode in *ackonly*) echo "SKIP: $name: VMX exits without ack-on-exit under APICv (L1 gets vector 0 under Bochs 3.0; see docs/e2e.md)" ;; esac
[ -f "$E2E_CACHE/b31/versions" ] && case $emu in bochs31*) e2e_log "$name: $(tr '\t\n' '= ' <"$E2E_CACHE/b31/versions")" ;; esac

# Pieces of the guest log.
sect() { sed -n "/^NQ_E2E_$1_BEGIN/,/^NQ_E2E_$1_END/p" "$out/serial.txt" | sed '1d;$d'; }
sect DOCTOR >"$out/doctor.txt"
sect DOCTOR_JSON >"$out/doctor.json"
grep '^NQ_WORKLOAD' "$out/serial.txt" >"$out/workload.txt"
sect TRACE | base64 -d 2>/dev/null | gzip -dc >"$out/t.bin" 2>/dev/null
if [ ! -s "$out/t.bin" ]; then
	fail_with_log "$name" "no trace came back over the serial console"
fi
if [ -n "${E2E_SELFTEST:-}" ]; then
	bash "$E2E_DIR/check-selftest.sh" "$out" "$emu" "$series" "$E2E_SELFTEST"
	return
fi
bash "$E2E_DIR/check.sh" "$out" "$emu" "$series"
}
main "$@"
exit $?
