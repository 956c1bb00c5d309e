#!/usr/bin/env bash
# Installs, from Debian 12's own archive, what building, running and testing
# nestirq needs.  Safe to re-run; installs nothing that is already there.
#   NQ_DEPS=run   only the build and `make run` (./setup run)
#   NQ_DEPS=all   also the tests (default; `make deps`, ./setup test)
#   NQ_E2E=0      without the emulators of the end-to-end subset
set -euo pipefail

run=(
	make gcc libc6-dev pkg-config     # userspace build
	clang llvm                        # BPF objects
	bpftool                           # bpftool gen skeleton
	libbpf-dev libelf-dev zlib1g-dev  # the loader links Debian's libbpf
	libmicrohttpd-dev                 # nestirq serve's HTTP server (and TLS, via GnuTLS)
	libsystemd-dev                    # serve: violations to journald (sd_journal_send)
	libyaml-dev libcrypt-dev          # serve --web.config.file: YAML, bcrypt (crypt_rn)
	libgnutls28-dev                   # ... and its certificate check (GnuTLS, as libmicrohttpd)
)
tests=(
	libclang-rt-14-dev                # libFuzzer and sanitizers
	clang-format                      # make format-check
	jq                                # CLI tests read nestirq's JSON output
	openssl                           # serve TLS test: a self-signed certificate
	prometheus curl                   # serve tests: a real Prometheus, promtool, HTTP client
	bpftrace                          # bench/storm.sh compares nestirq against it
	python3                           # check tests validate JUnit with ElementTree
	scdoc man-db                      # the man page (make man) and its test
	debhelper dpkg-dev lintian        # the Debian package (tests/system/deb.sh)
	debootstrap systemd-container     # fresh Debian 12 roots, chroot and nspawn (tests/system/)
	git                               # tests/system/ export `git archive HEAD`
)
# The end-to-end subset of `make test` (tests/e2e/lib.sh E2E_HOST_PKGS):
# emulators with nested virtualisation, and what builds their initramfs.
e2e=(
	qemu-system-x86 bochs bochsbios vgabios bochs-term busybox-static cpio
	isolinux syslinux-common xorriso xz-utils zstd kmod g++ bc flex bison rsync procps file
)

case ${NQ_DEPS:-all} in
run) pkgs=("${run[@]}") ;;
all) pkgs=("${run[@]}" "${tests[@]}")
	[ "${NQ_E2E:-1}" = 0 ] || pkgs+=("${e2e[@]}") ;;
*) echo "deps: NQ_DEPS must be run or all, not '$NQ_DEPS'" >&2; exit 2 ;;
esac

missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
	echo "deps: all ${#pkgs[@]} packages present"
	exit 0
fi

sudo=
[ "$(id -u)" -eq 0 ] || sudo=sudo
echo "deps: installing ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "deps: done"
