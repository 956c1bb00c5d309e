#!/usr/bin/env bash
# mkinitramfs.sh SERIES OUT.cpio
# An uncompressed newc initramfs: busybox-static, the KVM modules of kernel
# SERIES (from fetch.sh), nestirq with the shared libraries it needs (ldd,
# plus ld-linux), the static workloads and guest-init.sh as /init.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
series=${1:?series}
out=${2:?out}
K=$E2E_CACHE/k/$series
[ -f "$K/.done" ] || e2e_die "kernel $series not fetched (fetch.sh kernel $series)"
[ -x "$NQ" ] || e2e_die "$NQ not built (make)"
bb=$(command -v busybox) || e2e_die "busybox-static missing"
file -L "$bb" 2>/dev/null | grep -q 'statically linked' || bb=/bin/busybox

r=$(mktemp -d /tmp/nq-e2e-root.XXXXXX)
trap 'rm -rf "$r"' EXIT
mkdir -p "$r"/{bin,sbin,mods,proc,sys,dev,tmp,etc,lib64,lib/x86_64-linux-gnu,usr/lib}
cp "$bb" "$r/bin/busybox"
for a in $("$bb" --list); do
	[ "$a" = busybox ] || ln -sf busybox "$r/bin/$a"
done
cp "$K"/mods/*.ko "$r/mods/"
cp "$NQ" "$r/bin/nestirq"
# The shared libraries nestirq needs, at the paths ldd resolves them to.
ldd "$NQ" | awk '/=> \// {print $3} /^\t\/lib/ {print $1}' | while read -r lib; do
	mkdir -p "$r$(dirname "$lib")"
	cp -L "$lib" "$r$lib"
	strip --strip-unneeded "$r$lib" 2>/dev/null || true
done
for w in "$E2E_CACHE"/wl/nq_*; do
	[ -x "$w" ] && cp "$w" "$r/bin/" && strip -s "$r/bin/$(basename "$w")"
done
# Upstream selftests of this series, when fetch.sh selftests built them.
for w in "$E2E_CACHE/st/$series"/*; do
	[ -f "$w" ] && [ -x "$w" ] && cp "$w" "$r/bin/" && strip -s "$r/bin/$(basename "$w")"
done
cp "$E2E_DIR/guest-init.sh" "$r/init"
chmod +x "$r/init"
echo "root:x:0:0:root:/:/bin/sh" >"$r/etc/passwd"
(cd "$r" && find . | cpio -o -H newc --quiet) >"$out.tmp"
mv "$out.tmp" "$out"
e2e_log "initramfs $out: $(du -h "$out" | cut -f1) (kernel $(cat "$K/release"))"
