#!/usr/bin/env bash
# Fetches and builds everything the end-to-end runs need, from Debian
# packages only, into tests/e2e/cache/ (git-ignored).  Idempotent: each
# step leaves a stamp and is skipped when its output is there.
#
#   fetch.sh host            host tools (qemu-system-x86, bochs 2.7, busybox-static, ...)
#   fetch.sh kernel SERIES   the kernel image package(s), unpacked, modules decompressed
#                            (SERIES: 6.1 6.12 6.12.117 6.16 7.3, see lib.sh)
#   fetch.sh workloads       linux-source-6.1 -> KVM selftests lib -> static workloads
#   fetch.sh bochs3          trixie's bochs 3.0 source + PI-descriptor alignment fix, built
#   fetch.sh bochs31         sid's bochs 3.1 binary package in a minimal sid root (debootstrap)
#   fetch.sh selftests SERIES upstream KVM selftests of that kernel's linux-source (7.3, 6.12.117)
#   fetch.sh all             everything above (every series)
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

step_host() { e2e_host_pkgs; }

# Kernel: cache/k/<series>/{vmlinuz,config,mods/*.ko,release,package}
# From 7.x Debian's linux-image-<release> is a meta package: the kernel is
# in linux-binary-<release> (vmlinuz under /usr/lib/modules/<release>/) and
# the modules in linux-modules-<release>, the config in linux-base-<release>;
# trixie's packages use /usr/lib.
step_kernel() {
	local series=$1 pkg out=$E2E_CACHE/k/$1 pkgs
	[ -f "$out/.done" ] && return 0
	e2e_apt_update
	pkg=$(e2e_kernel_pkg "$series") || e2e_die "unknown kernel series '$series' (known: ${E2E_SERIES[*]})"
	[ -n "$pkg" ] || e2e_die "no linux-image package for $series in the private lists"
	pkgs=$pkg
	local dep
	for dep in $(e2e_apt_cache show "$pkg" 2>/dev/null | sed -n 's/^Depends: //p' | head -n1 | tr ',|' '\n\n' |
		awk '{print $1}' | grep -E '^linux-(binary|modules|base)-'); do
		pkgs="$pkgs $dep"
	done
	e2e_log "kernel $series: $pkgs ($(e2e_apt_cache show "$pkg" | sed -n 's/^Version: //p' | head -n1))"
	rm -rf "$out" && mkdir -p "$out/debs" "$out/x" "$out/mods"
	# shellcheck disable=SC2086 # one word per package
	(cd "$out/debs" && e2e_apt download $pkgs >/dev/null) || e2e_die "apt-get download $pkgs"
	local deb
	for deb in "$out"/debs/*.deb; do dpkg -x "$deb" "$out/x"; done
	(cd "$out/debs" && ls) >"$out/package"
	local md rel
	md=$(ls -d "$out"/x/usr/lib/modules/*/kernel "$out"/x/lib/modules/*/kernel 2>/dev/null | head -n1 || true)
	[ -n "$md" ] || e2e_die "no modules directory in $pkgs"
	md=$(dirname "$md")
	rel=$(basename "$md")
	echo "$rel" >"$out/release"
	local f
	for f in "$out/x/boot/vmlinuz-$rel" "$md/vmlinuz"; do [ -f "$f" ] && cp "$f" "$out/vmlinuz" && break; done
	[ -f "$out/vmlinuz" ] || e2e_die "no vmlinuz for $rel in $pkgs"
	for f in "$out/x/boot/config-$rel" "$md/config"; do [ -f "$f" ] && cp "$f" "$out/config" && break; done
	local K=$md/kernel
	# The KVM modules with their dependencies (kvm_amd needs ccp), in load
	# order: mods/order is what guest-init.sh loads before kvm-intel/kvm-amd.
	for m in arch/x86/kvm/kvm arch/x86/kvm/kvm-intel arch/x86/kvm/kvm-amd virt/lib/irqbypass \
		drivers/crypto/ccp/ccp; do
		f=$(ls "$K/$m".ko* 2>/dev/null | head -n1 || true)
		[ -n "$f" ] || e2e_die "module $m missing in $pkgs"
		case $f in
		*.xz) xz -dc "$f" >"$out/mods/$(basename "$m").ko" ;;
		*.zst) zstd -qdc "$f" >"$out/mods/$(basename "$m").ko" ;;
		*) cp "$f" "$out/mods/" ;;
		esac
	done
	# Any module they depend on beyond these (none up to 7.3) is an error
	# here rather than an "Unknown symbol" in the guest.
	for f in "$out"/mods/*.ko; do
		for dep in $(modinfo -F depends "$f" | tr ',' ' '); do
			[ -f "$out/mods/${dep//_/-}.ko" ] || [ -f "$out/mods/$dep.ko" ] ||
				e2e_die "$(basename "$f") of $rel needs module $dep, which the e2e initramfs does not load"
		done
	done
	rm -rf "$out/x" "$out/debs"
	touch "$out/.done"
}

# Workloads: static binaries in cache/wl/, linked with the KVM selftests
# library of linux-source-6.1 (built here, never copied into the project).
step_workloads() {
	local out=$E2E_CACHE/wl src=$E2E_CACHE/ls
	local D=$src/linux-source-6.1/tools/testing/selftests/kvm
	local stamp
	stamp=$(cat "$E2E_DIR"/workloads/*.c "$E2E_DIR"/workloads/*.h | md5sum | cut -c1-16)
	[ -f "$out/.done-$stamp" ] && return 0
	if [ ! -f "$src/.done" ]; then
		e2e_apt_update
		local pkg ver
		ver=$(e2e_apt_cache policy linux-source-6.1 | awk '/Candidate:/ {print $2}')
		e2e_log "linux-source-6.1 $ver: download, unpack, headers_install (about 1 min)"
		rm -rf "$src" && mkdir -p "$src/debs"
		(cd "$src/debs" && e2e_apt download "linux-source-6.1=$ver" >/dev/null) ||
			e2e_die "apt-get download linux-source-6.1"
		dpkg -x "$src"/debs/*.deb "$src/x"
		tar -xaf "$src"/x/usr/src/linux-source-6.1.tar.xz -C "$src"
		rm -rf "$src/x" "$src/debs"
		timeout 600 make -s -C "$src/linux-source-6.1" headers_install >/dev/null ||
			e2e_die "headers_install failed"
		touch "$src/.done"
	fi
	mkdir -p "$out"
	cp "$E2E_DIR"/workloads/nq_*.c "$E2E_DIR"/workloads/nq_*.h "$D/x86_64/"
	local t bins=() progs=()
	for t in "$E2E_DIR"/workloads/nq_*.c; do
		t=$(basename "$t" .c)
		bins+=("$D/x86_64/$t")
		progs+=("x86_64/$t")
	done
	rm -f "${bins[@]}" # the selftests Makefile does not track our header
	e2e_log "building workloads (static): ${bins[*]##*/}"
	timeout 600 make -s -C "$D" -j"$(nproc)" LDFLAGS="-static -pthread" \
		TEST_GEN_PROGS_x86_64="${progs[*]}" "${bins[@]}" \
		>"$out/build.log" 2>&1 || { cat "$out/build.log" >&2; e2e_die "workload build failed"; }
	for t in "${bins[@]}"; do cp "$t" "$out/"; done
	rm -f "$out"/.done-*
	touch "$out/.done-$stamp"
}

# Bochs 3.0 (trixie source) with a one-line fix: the VM-entry check of the
# posted-interrupt descriptor address must require 64-byte alignment (SDM),
# not 4 KiB; KVM's pi_desc is only 64-byte aligned.  Without the fix every
# APICv VM fails VM entry.  Also the trixie BIOS images (from bochsbios /
# vgabios 3.0 binary packages, unpacked, not installed).
step_bochs3() {
	local out=$E2E_CACHE/bochs3 b
	[ -x "$out/bin/bochs" ] && [ -f "$out/.done" ] && return 0
	e2e_apt_update
	rm -rf "$out" && mkdir -p "$out/src" "$out/bin" "$out/dl"
	(cd "$out/dl" && e2e_apt source --download-only bochs >"$out/dl/log" 2>&1) || true
	ls "$out"/dl/bochs_3*.orig.tar.* >/dev/null 2>&1 || { cat "$out/dl/log" >&2; e2e_die "bochs 3 source"; }
	tar -xaf "$out"/dl/bochs_3*.orig.tar.* -C "$out/src" --strip-components=1
	b=$out/src
	grep -q 'if (! IsValidPageAlignedPhyAddr(vm->pid_addr)) {' "$b/cpu/vmx.cc" ||
		e2e_die "bochs source: PI descriptor check not found (already fixed upstream?)"
	sed -i 's/if (! IsValidPageAlignedPhyAddr(vm->pid_addr)) {/if (! IsValidPhyAddr(vm->pid_addr) || (vm->pid_addr \& 0x3f)) {/' \
		"$b/cpu/vmx.cc"
	e2e_log "bochs 3.0: configure + make (about 3 min on 2 cores)"
	# -O2 without -g: the build is the slow part of a fresh CI run.
	(cd "$b" && CFLAGS=-O2 CXXFLAGS=-O2 ./configure --enable-x86-64 --enable-vmx=2 --enable-svm --enable-cpu-level=6 \
		--enable-avx --enable-evex --enable-pci --enable-all-optimizations --enable-monitor-mwait \
		--enable-a20-pin --disable-plugins --with-nogui --disable-debugger --disable-docbook \
		>"$out/configure.log" 2>&1) || { tail -20 "$out/configure.log" >&2; e2e_die "bochs configure"; }
	timeout 1200 make -C "$b" -j"$(nproc)" >"$out/make.log" 2>&1 ||
		{ tail -30 "$out/make.log" >&2; e2e_die "bochs make"; }
	cp "$b/bochs" "$out/bin/bochs"
	# The source tree ships its BIOS images (bios/BIOS-bochs-latest, VGABIOS).
	cp "$b/bios/BIOS-bochs-latest" "$out/bin/" 2>/dev/null || true
	cp "$b"/bios/VGABIOS-lgpl-latest* "$out/bin/" 2>/dev/null || true
	rm -rf "$b"/*.o "$b"/*/*.o
	touch "$out/.done"
}

# Bochs 3.1 (sid's binary package; its upstream source tarball is not
# served, and the binary needs glibc >= 2.38): a minimal sid root made with
# debootstrap, bochs + bochsbios + vgabios + bochs-term installed in it with
# the root's own apt.  run.sh starts the binary with that root's ld.so and
# libraries (no chroot, no mounts).  About 5 min and 250 MB the first time.
step_bochs31() {
	local out=$E2E_CACHE/b31 m
	[ -f "$out/.done" ] && return 0
	e2e_host_pkgs debootstrap
	m=$(e2e_mirror)
	rm -rf "$out" && mkdir -p "$out"
	e2e_log "bochs 3.1: debootstrap --variant=minbase sid from $m (about 4 min)"
	timeout 1200 debootstrap --variant=minbase sid "$out/root" "$m" >"$out/debootstrap.log" 2>&1 ||
		{ tail -20 "$out/debootstrap.log" >&2; e2e_die "debootstrap sid"; }
	# A snapshot mirror's Release files are past their Valid-Until.
	{ timeout 600 chroot "$out/root" apt-get -o Acquire::Check-Valid-Until=false update -qq &&
		DEBIAN_FRONTEND=noninteractive timeout 900 chroot "$out/root" apt-get install -y -qq \
			--no-install-recommends bochs bochsbios vgabios bochs-term; } >"$out/install.log" 2>&1 ||
		{ tail -20 "$out/install.log" >&2; e2e_die "apt-get install bochs in the sid root"; }
	chroot "$out/root" dpkg-query -W bochs bochsbios vgabios bochs-term >"$out/versions"
	rm -rf "$out/root/var/cache/apt/archives/"*.deb "$out/root/var/lib/apt/lists/"*_Packages*
	touch "$out/.done"
}

# Upstream's KVM selftests of a series' own linux-source package, linked
# statically, into cache/st/<series>/ (mkinitramfs.sh puts them in /bin;
# run.sh E2E_SELFTEST=NAME runs one under `nestirq check --`).
# E2E_SELFTESTS names them (default vmx_apicv_updates_test).
step_selftests() {
	local series=$1 ver src out=$E2E_CACHE/st/$1 t
	case $series in
	7.3) ver=7.3 ;;
	6.12.117) ver=6.12 ;;
	*) e2e_die "selftests: no linux-source mapping for series $series (7.3, 6.12.117)" ;;
	esac
	local tests=${E2E_SELFTESTS:-vmx_apicv_updates_test}
	local stamp
	stamp=$(echo "$tests" | md5sum | cut -c1-16)
	[ -f "$out/.done-$stamp" ] && return 0
	src=$E2E_CACHE/ls-$ver
	if [ ! -f "$src/.done" ]; then
		e2e_apt_update
		local pv
		pv=$(e2e_apt_cache policy "linux-source-$ver" | awk '/Candidate:/ {print $2}')
		[ -n "$pv" ] && [ "$pv" != "(none)" ] || e2e_die "linux-source-$ver not in the private lists"
		e2e_log "linux-source-$ver $pv: download, unpack, headers_install (a few minutes)"
		rm -rf "$src" && mkdir -p "$src/debs"
		(cd "$src/debs" && e2e_apt download "linux-source-$ver=$pv" >/dev/null) ||
			e2e_die "apt-get download linux-source-$ver"
		dpkg -x "$src"/debs/*.deb "$src/x"
		tar -xaf "$src"/x/usr/src/linux-source-$ver.tar.* -C "$src"
		rm -rf "$src/x" "$src/debs"
		timeout 900 make -s -C "$src/linux-source-$ver" headers_install >/dev/null ||
			e2e_die "headers_install failed"
		touch "$src/.done"
	fi
	local D=$src/linux-source-$ver/tools/testing/selftests/kvm bins=()
	for t in $tests; do bins+=("$D/x86/$t"); done
	e2e_log "building selftests (static) of linux-source-$ver: $tests"
	mkdir -p "$out"
	timeout 900 make -s -C "$D" -j"$(nproc)" LDFLAGS="-static -pthread" "${bins[@]}" \
		>"$out/build.log" 2>&1 || { tail -30 "$out/build.log" >&2; e2e_die "selftest build failed"; }
	for t in "${bins[@]}"; do cp "$t" "$out/"; done
	rm -f "$out"/.done-*
	touch "$out/.done-$stamp"
}

case ${1:-all} in
host) step_host ;;
kernel) step_kernel "${2:?series}" ;;
workloads) step_workloads ;;
bochs3) step_bochs3 ;;
bochs31) step_bochs31 ;;
selftests) step_selftests "${2:?series}" ;;
all)
	step_host
	for s in "${E2E_SERIES[@]}"; do step_kernel "$s"; done
	step_workloads
	;;
*) e2e_die "usage: fetch.sh host|kernel SERIES|workloads|bochs3|bochs31|selftests SERIES|all" ;;
esac
