#!/usr/bin/env bash
# build.sh base | NAME... | all
# Builds the mutant KVM kernels from Debian's linux-source-6.12
# (bookworm-backports), at test time, into tests/mutants/cache/ (git-ignored).
#
#   base   the kernel of config.fragment (allnoconfig + fragment), built
#          once per source version + config hash; its own kvm modules are
#          the unmodified control ("unmodified")
#   NAME   patches/NAME.patch applied to the same tree; only the KVM
#          modules are rebuilt (make modules is incremental), then the
#          patch is reverted
#   all    base, then every patches/*.patch
#
# Each result is a kernel directory the e2e harness takes
# (E2E_KDIR=<dir> tests/e2e/run.sh ...):
#   cache/k/<name>-<key>/{vmlinuz,mods/*.ko,release,config,.done}
# and `build.sh kdir NAME` prints it.  Keys: base = source version + config
# fragment hash; a mutant adds its patch hash.  Builds never run twice at
# once (flock on cache/lock).  Needs root for apt-get install of the build
# dependencies (only when missing).
set -euo pipefail
MUT_DIR=$(cd "$(dirname "$0")" && pwd)
# The e2e helpers: private apt lists (bookworm-backports), logging.
# shellcheck source=../e2e/lib.sh
. "$MUT_DIR/../e2e/lib.sh"
MUT_CACHE=${MUT_CACHE:-$MUT_DIR/cache}
SERIES=6.12
SRCPKG=linux-source-$SERIES
JOBS=${MUT_JOBS:-$(nproc)}
mkdir -p "$MUT_CACHE"

log() { printf '[mutants %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() {
	log "ERROR: $*"
	exit 1
}

build_deps() {
	local p missing=()
	for p in gcc make bc flex bison libelf-dev libssl-dev dwarves cpio xz-utils kmod python3 rsync; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	log "installing build dependencies: ${missing[*]}"
	timeout 600 apt-get update -qq >/dev/null 2>&1 || true
	DEBIAN_FRONTEND=noninteractive timeout 900 apt-get install -y -qq --no-install-recommends \
		"${missing[@]}" >"$MUT_CACHE/deps.log" 2>&1 || { tail -20 "$MUT_CACHE/deps.log" >&2; die "apt-get install"; }
}

# The source tarball of the newest linux-source-6.12 in bookworm-backports:
# cache/src/<version>/linux-source-6.12.tar.xz.  Prints the version.
src_version() {
	local f=$MUT_CACHE/src/version
	if [ -n "${MUT_SRC_VERSION:-}" ]; then
		echo "$MUT_SRC_VERSION"
	elif [ -s "$f" ] && [ -z "$(find "$f" -mmin +1440)" ]; then
		cat "$f"
	else
		e2e_apt_update >&2
		mkdir -p "$MUT_CACHE/src"
		# bookworm-backports only: the private lists also carry trixie, whose
		# newer 6.12 is not the tree the patches were written against.
		e2e_apt_cache madison "$SRCPKG" |
			awk -F' *[|] *' '$3 ~ / bookworm-backports\// {print $2; exit}' | tee "$f"
	fi
}

fetch_src() { # version
	local ver=$1 d=$MUT_CACHE/src/$1
	[ -f "$d/.done" ] && return 0
	e2e_apt_update >&2
	log "$SRCPKG $ver: download"
	rm -rf "$d" && mkdir -p "$d/deb"
	(cd "$d/deb" && e2e_apt download "$SRCPKG=$ver" >/dev/null) || die "apt-get download $SRCPKG=$ver"
	dpkg-deb --fsys-tarfile "$d"/deb/*.deb | tar -xO "./usr/src/$SRCPKG.tar.xz" >"$d/$SRCPKG.tar.xz"
	rm -rf "$d/deb"
	touch "$d/.done"
}

h16() { sha256sum | cut -c1-12; }

# Base tree: cache/tree-<key>/linux-source-6.12, built in place.
base_key() { # version
	{ echo "$1"; cat "$MUT_DIR/config.fragment"; } | h16
}

check_config() { # tree
	local t=$1 bad=0 line sym want got
	while read -r line; do
		case $line in
		CONFIG_*=y | CONFIG_*=m)
			sym=${line%%=*} want=${line#*=}
			got=$(sed -n "s/^$sym=//p" "$t/.config")
			[ "$got" = "$want" ] || { log "config: $sym=$want wanted, got '${got:-n}'"; bad=1; } ;;
		"# CONFIG_"*" is not set")
			sym=${line#\# }; sym=${sym%% *}
			grep -q "^$sym=" "$t/.config" && { log "config: $sym wanted off"; bad=1; } ;;
		esac
	done <"$MUT_DIR/config.fragment"
	return $bad
}

build_base() { # version -> tree path on stdout
	local ver=$1 key tree t
	key=$(base_key "$ver")
	tree=$MUT_CACHE/tree-$key
	t=$tree/$SRCPKG
	if [ -f "$tree/.done" ]; then
		echo "$t"
		return 0
	fi
	fetch_src "$ver"
	build_deps
	log "base kernel $ver (key $key): unpack, allnoconfig + config.fragment"
	rm -rf "$tree" && mkdir -p "$tree"
	# An earlier tree of the same source (another config) makes the build
	# incremental: kbuild rebuilds what the config change touches.
	local seed
	seed=$(ls -dt "$MUT_CACHE"/tree-*/.done 2>/dev/null | while read -r d; do
		d=$(dirname "$d")
		[ "$(cat "$d/version" 2>/dev/null)" = "$ver" ] && echo "$d" && break
	done)
	if [ -n "$seed" ] && [ "${MUT_SEED:-1}" = 1 ]; then
		log "seeding from $seed (incremental build)"
		cp -a "$seed/$SRCPKG" "$tree/"
		# Undo any mutant left applied by an interrupted run.
		for p in "$MUT_DIR"/patches/*.patch; do
			(cd "$t" && patch -p1 -R --dry-run --quiet <"$p" >/dev/null 2>&1 && patch -p1 -R --quiet <"$p") || true
		done
		cp "$t/.config" "$tree/config.seed"
		(cd "$t" && make -s ARCH=x86_64 allnoconfig >/dev/null)
	else
		tar -xaf "$MUT_CACHE/src/$ver/$SRCPKG.tar.xz" -C "$tree"
	fi
	echo "$ver" >"$tree/version"
	(cd "$t" && make -s ARCH=x86_64 allnoconfig >/dev/null &&
		KCONFIG_CONFIG=.config scripts/kconfig/merge_config.sh -m -O . .config \
			"$MUT_DIR/config.fragment" >"$tree/merge.log" 2>&1 &&
		make -s ARCH=x86_64 olddefconfig) || die "config"
	check_config "$t" || die "config.fragment did not survive olddefconfig (see above)"
	log "base kernel: make -j$JOBS bzImage modules (log: $tree/build.log)"
	local t0
	t0=$(date +%s)
	(cd "$t" && nice make ARCH=x86_64 -j"$JOBS" bzImage modules) >"$tree/build.log" 2>&1 ||
		{ tail -40 "$tree/build.log" >&2; die "base kernel build failed"; }
	echo "$(($(date +%s) - t0))" >"$tree/build_seconds"
	log "base kernel built in $(cat "$tree/build_seconds") s"
	touch "$tree/.done"
	echo "$t"
}

# Copies the built kernel + KVM modules of tree $1 to kernel dir $2.
export_kdir() { # tree kdir
	local t=$1 k=$2 m rel
	rm -rf "$k" && mkdir -p "$k/mods"
	cp "$t/arch/x86/boot/bzImage" "$k/vmlinuz"
	cp "$t/.config" "$k/config"
	rel=$(cat "$t/include/config/kernel.release")
	echo "$rel" >"$k/release"
	for m in arch/x86/kvm/kvm.ko arch/x86/kvm/kvm-intel.ko arch/x86/kvm/kvm-amd.ko virt/lib/irqbypass.ko; do
		[ -f "$t/$m" ] || die "module $m missing"
		cp "$t/$m" "$k/mods/"
	done
	touch "$k/.done"
}

kdir_of() { # name -> kernel dir (may not exist yet)
	local name=$1 ver bkey
	ver=$(src_version)
	bkey=$(base_key "$ver")
	if [ "$name" = unmodified ]; then
		echo "$MUT_CACHE/k/unmodified-$bkey"
	else
		[ -f "$MUT_DIR/patches/$name.patch" ] || die "no patches/$name.patch"
		echo "$MUT_CACHE/k/$name-$({ echo "$bkey"; cat "$MUT_DIR/patches/$name.patch"; } | h16)"
	fi
}

build_one() { # name
	local name=$1 ver t k p t0
	ver=$(src_version)
	k=$(kdir_of "$name")
	[ -f "$k/.done" ] && { echo "$k"; return 0; }
	t=$(build_base "$ver")
	if [ "$name" = unmodified ]; then
		# The base build's own modules, rebuilt if a mutant left objects behind.
		(cd "$t" && make ARCH=x86_64 -j"$JOBS" modules) >"$t/../unmodified.log" 2>&1 ||
			{ tail -30 "$t/../unmodified.log" >&2; die "modules build failed"; }
		export_kdir "$t" "$k"
		echo "$k"
		return 0
	fi
	p=$MUT_DIR/patches/$name.patch
	log "mutant $name: patch + make modules"
	(cd "$t" && patch -p1 --forward --quiet <"$p") || die "patches/$name.patch does not apply to $SRCPKG $ver"
	t0=$(date +%s)
	if ! (cd "$t" && nice make ARCH=x86_64 -j"$JOBS" modules) >"$t/../$name.log" 2>&1; then
		(cd "$t" && patch -p1 -R --quiet <"$p")
		tail -30 "$t/../$name.log" >&2
		die "mutant $name: modules build failed"
	fi
	log "mutant $name: modules rebuilt in $(($(date +%s) - t0)) s"
	export_kdir "$t" "$k"
	echo "$(($(date +%s) - t0))" >"$k/build_seconds"
	(cd "$t" && patch -p1 -R --quiet <"$p") || die "could not revert patches/$name.patch"
	echo "$k"
}

mutants() {
	local p
	for p in "$MUT_DIR"/patches/*.patch; do [ -f "$p" ] && basename "$p" .patch; done
}

[ $# -ge 1 ] || die "usage: build.sh base | unmodified | NAME... | all | kdir NAME | list"
case $1 in
kdir)
	kdir_of "${2:?name}"
	exit 0
	;;
list)
	mutants
	exit 0
	;;
esac
exec 9>"$MUT_CACHE/lock"
flock 9
case $1 in
base) build_base "$(src_version)" ;;
all)
	build_one unmodified
	for n in $(mutants); do build_one "$n"; done
	;;
*) for n in "$@"; do build_one "$n"; done ;;
esac
