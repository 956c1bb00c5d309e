# shellcheck shell=bash
# System-test harness: a fresh Debian 12 root built from Debian's own
# packages, entered with chroot or booted with systemd-nspawn.  Sourced by
# tests/system/*.sh after tests/cli/lib.sh (pass/fail/skip/finish, $TMP).
#
#   make_fresh_root DIR [PKG,PKG...]   debootstrap --variant=minbase bookworm
#                                      (plus packages), cached as a tarball
#   mount_root DIR                     bind /proc /sys /dev for chroot
#   run_in_root DIR CMD...             chroot, clean environment, bash -c CMD
#   boot_nspawn DIR NAME [ARGS...]     systemd as PID 1; sets NSPAWN_PID, LEADER
#   run_in_container CMD...            nsenter into the booted container
#   stop_nspawn                        halt, then SIGKILL after 30 s
#   build_deb                          the .deb of HEAD; sets DEB_DIR
#   sys_locked CMD...                  CMD holding NQ_LIVE_LOCK (if set)
#   cleanup_root DIR                   unmount everything, then rm -rf
#   sys_cleanup                        all of the above for every root made
#
# Each root registers itself; sys_cleanup (installed as the EXIT trap by
# sys_init) stops the container, unmounts, and removes a root only when
# nothing is mounted below it any more: never rm -rf across a bind mount.
#
# Knobs: NQ_SYSTEM_CACHE (default build/system-cache) keeps the debootstrap
# tarballs (rebuilt when older than NQ_SYSTEM_CACHE_DAYS, default 7) and the
# .debs apt downloads inside the roots; NQ_MIRROR overrides the mirror taken
# from /etc/apt/sources.list.d/debian.sources.

NQ_SYSTEM_CACHE=${NQ_SYSTEM_CACHE:-$PWD/build/system-cache}
SYS_ROOTS=()
NSPAWN_PID=
NSPAWN_NAME=
LEADER=

sys_log() { echo "  [$(date +%T)] $*" >&2; }

sys_init() {
	mkdir -p "$NQ_SYSTEM_CACHE/apt"
	# $TMP holds the roots: removed only when nothing is mounted below it.
	trap 'sys_cleanup && [ -z "$(sys_mounts_below "$TMP")" ] && rm -rf --one-file-system "$TMP"' EXIT
	trap 'exit 1' INT TERM
}

# Why this host cannot run the system tests, or nothing.
sys_why_not() {
	if [ "$(id -u)" != 0 ]; then echo "not root"
	elif ! command -v debootstrap >/dev/null; then echo "debootstrap not installed (scripts/deps.sh installs it)"
	elif ! command -v chroot >/dev/null; then echo "no chroot"
	fi
}

# The Debian mirror this host already uses (deb822 sources, then the
# one-line format), so the root comes from the same archive and snapshot.
sys_mirror() {
	if [ -n "${NQ_MIRROR:-}" ]; then echo "$NQ_MIRROR"; return; fi
	local f=/etc/apt/sources.list.d/debian.sources uri=
	if [ -r $f ]; then
		uri=$(awk '/^URIs:/ {u=$2} /^Suites:/ && / bookworm( |$)/ {print u; exit}' $f)
	fi
	if [ -z "$uri" ] && [ -r /etc/apt/sources.list ]; then
		uri=$(awk '$1=="deb" && $3=="bookworm" {print $2; exit}' /etc/apt/sources.list)
	fi
	echo "${uri:-http://deb.debian.org/debian}"
}

# make_fresh_root DIR [PKG,PKG...]: DIR becomes a fresh bookworm minbase
# root, with PKGS installed by apt when given.  The first run debootstraps
# and keeps the result as a tarball; later runs unpack it (seconds instead
# of minutes).  Roots with packages are cached the same way.
make_fresh_root() {
	local dir=$1 include=${2:-} key tarball mirror
	key=bookworm-minbase${include:+-$(echo "$include" | tr ',' '-')}
	tarball=$NQ_SYSTEM_CACHE/$key.tar.gz
	SYS_ROOTS+=("$dir")
	mkdir -p "$NQ_SYSTEM_CACHE"
	if [ -n "$(find "$tarball" -mtime -"${NQ_SYSTEM_CACHE_DAYS:-7}" 2>/dev/null)" ]; then
		sys_log "unpacking the cached $key root"
		mkdir -p "$dir" && tar -C "$dir" --numeric-owner -xzf "$tarball" || return 1
	elif [ -n "$include" ]; then
		make_fresh_root "$dir" || return 1
		sys_log "apt-get install ${include//,/ } in the root"
		mount_root "$dir" || return 1
		run_in_root "$dir" "apt-get update -qq && apt-get install -y -qq --no-install-recommends ${include//,/ }" \
			>"$TMP/root-$key.log" 2>&1
		local rc=$?
		umount_root "$dir" || return 1
		[ $rc = 0 ] || { tail -n 20 "$TMP/root-$key.log" >&2; return 1; }
		sys_pack_root "$dir" "$tarball"
	else
		mirror=$(sys_mirror)
		sys_log "debootstrap --variant=minbase bookworm from $mirror"
		if ! debootstrap --variant=minbase bookworm "$dir" "$mirror" >"$TMP/debootstrap.log" 2>&1; then
			tail -n 20 "$TMP/debootstrap.log" >&2
			return 1
		fi
		sys_pack_root "$dir" "$tarball"
	fi
	# Like any chroot build: packages' maintainer scripts must not start
	# daemons (prometheus would listen on the host's network).  boot_nspawn
	# removes it again.
	printf '#!/bin/sh\nexit 101\n' >"$dir/usr/sbin/policy-rc.d"
	chmod 755 "$dir/usr/sbin/policy-rc.d"
	cp /etc/resolv.conf "$dir/etc/resolv.conf" 2>/dev/null
	return 0
}

sys_pack_root() { # DIR TARBALL: without the policy-rc.d of the chroot phase
	rm -f "$1/usr/sbin/policy-rc.d"
	sys_apt_save "$1"
	tar -C "$1" --numeric-owner -czf "$2.tmp" . && mv "$2.tmp" "$2"
}

# Bind what a chroot needs.  /sys and /dev recursively (tracefs, bpffs,
# /dev/pts) and as slaves, so unmounting here never unmounts the host's.
mount_root() {
	local dir=$1
	mount -t proc proc "$dir/proc" || return 1
	mount --rbind /sys "$dir/sys" && mount --make-rslave "$dir/sys" || return 1
	mount --rbind /dev "$dir/dev" && mount --make-rslave "$dir/dev" || return 1
	sys_apt_seed "$dir"
}

# The .debs apt downloads outlive the root, so reruns do not fetch them
# again: linked in before, copied out after (not a shared bind mount: apt
# locks its archive directory, and two roots may run at once).
sys_apt_seed() {
	local a=$1/var/cache/apt/archives
	[ -n "$(ls "$NQ_SYSTEM_CACHE/apt" 2>/dev/null)" ] || return 0
	cp -al "$NQ_SYSTEM_CACHE"/apt/*.deb "$a/" 2>/dev/null || cp -n "$NQ_SYSTEM_CACHE"/apt/*.deb "$a/" 2>/dev/null
	return 0
}
sys_apt_save() {
	local a=$1/var/cache/apt/archives
	ls "$a"/*.deb >/dev/null 2>&1 || return 0
	mkdir -p "$NQ_SYSTEM_CACHE/apt"
	cp -aln "$a"/*.deb "$NQ_SYSTEM_CACHE/apt/" 2>/dev/null || cp -n "$a"/*.deb "$NQ_SYSTEM_CACHE/apt/" 2>/dev/null
	rm -f "$a"/*.deb
}

# Every mount point at or below DIR, deepest first.
sys_mounts_below() {
	local real
	real=$(realpath "$1") || return 0
	awk -v r="$real" '$5 == r || index($5, r "/") == 1 {print $5}' /proc/self/mountinfo | sort -r
}

umount_root() {
	local dir=$1 m
	for m in $(sys_mounts_below "$dir"); do
		umount -R "$m" 2>/dev/null || umount -l "$m" 2>/dev/null
	done
	[ -z "$(sys_mounts_below "$dir")" ]
}

# Kills what still runs chrooted in DIR (a daemon a test left behind would
# keep its mounts busy).
sys_kill_in_root() {
	local real p
	real=$(realpath "$1") || return 0
	for p in /proc/[0-9]*; do
		[ "$(readlink "$p/root" 2>/dev/null)" = "$real" ] && kill -KILL "${p#/proc/}" 2>/dev/null
	done
	return 0
}

# Removes DIR only once nothing is mounted below it.
cleanup_root() {
	local dir=$1
	[ -d "$dir" ] || return 0
	sys_kill_in_root "$dir"
	if ! umount_root "$dir"; then
		echo "system: still mounted below $dir, not removing it: $(sys_mounts_below "$dir" | tr '\n' ' ')" >&2
		return 1
	fi
	sys_apt_save "$dir"
	rm -rf --one-file-system "$dir"
}

# run_in_root DIR CMD: CMD in bash inside the chroot, with the environment a
# root login on a fresh machine has (plus NQ_* knobs passed in as words of CMD).
run_in_root() {
	local dir=$1
	shift
	chroot "$dir" /usr/bin/env -i HOME=/root TERM=dumb LANG=C.UTF-8 \
		PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		DEBIAN_FRONTEND=noninteractive /bin/bash -c "$*"
}

# boot_nspawn DIR NAME [NSPAWN-ARGS...]: boots DIR with systemd as PID 1 in
# the background (console to $TMP/nspawn-NAME.log) and waits up to 120 s for
# the container's systemd to answer.  Sets NSPAWN_PID (systemd-nspawn) and
# LEADER (the container's PID 1, as a host pid) for run_in_container.
boot_nspawn() {
	local dir=$1 name=$2
	shift 2
	rm -f "$dir/usr/sbin/policy-rc.d"
	LEADER='' NSPAWN_NAME=$name
	systemd-nspawn --quiet --boot --directory="$dir" --machine="$name" \
		--register=no --keep-unit --console=pipe "$@" \
		</dev/null >"$TMP/nspawn-$name.log" 2>&1 &
	NSPAWN_PID=$!
	for _ in $(seq 1200); do
		kill -0 "$NSPAWN_PID" 2>/dev/null || return 1
		[ -z "$LEADER" ] && LEADER=$(pgrep -P "$NSPAWN_PID" -x systemd | head -n 1)
		if [ -n "$LEADER" ] &&
			run_in_container systemctl is-system-running 2>/dev/null | grep -qE '^(running|degraded)$'; then
			return 0
		fi
		sleep 0.1
	done
	return 1
}

# run_in_container CMD: CMD in bash inside the booted container (every
# namespace of its PID 1; no machined needed on the host).
run_in_container() {
	[ -n "$LEADER" ] || return 125
	# --root and --wd without a value: the container's root and cwd
	# (--root=/ would be this process' root, seen from the container).
	nsenter --target "$LEADER" --all --root --wd /usr/bin/env -i HOME=/root TERM=dumb \
		LANG=C.UTF-8 PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		/bin/bash -c "$*"
}

# Halts the container (nspawn turns SIGTERM into a clean shutdown of its
# systemd), then kills it after 30 s.
stop_nspawn() {
	[ -n "$NSPAWN_PID" ] || return 0
	if kill -0 "$NSPAWN_PID" 2>/dev/null; then
		kill -TERM "$NSPAWN_PID" 2>/dev/null
		for _ in $(seq 300); do kill -0 "$NSPAWN_PID" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$NSPAWN_PID" 2>/dev/null
		[ -n "$LEADER" ] && kill -KILL "$LEADER" 2>/dev/null
	fi
	wait "$NSPAWN_PID" 2>/dev/null
	# nspawn leaves its (empty) mount-propagation directory behind.
	rmdir "/run/systemd/nspawn/propagate/$NSPAWN_NAME" 2>/dev/null
	NSPAWN_PID='' LEADER=''
}

sys_cleanup() {
	local d
	stop_nspawn
	for d in "${SYS_ROOTS[@]}"; do cleanup_root "$d"; done
}

# build_deb: `dpkg-buildpackage -us -uc -b` over a clean `git archive` of
# HEAD; sets DEB_DIR to the directory holding nestirq_*.deb and its
# .changes.  Built once per commit (kept under NQ_SYSTEM_CACHE/deb/), so the
# tests that install the package share one build.
build_deb() {
	local head
	head=$(git rev-parse HEAD) || return 1
	DEB_DIR=$NQ_SYSTEM_CACHE/deb/$head
	ls "$DEB_DIR"/nestirq_*_amd64.deb >/dev/null 2>&1 && return 0
	rm -rf "$DEB_DIR.tmp" && mkdir -p "$DEB_DIR.tmp/nestirq"
	git archive HEAD | tar -x -C "$DEB_DIR.tmp/nestirq" || return 1
	sys_log "dpkg-buildpackage -us -uc -b (commit ${head:0:7})"
	if ! (cd "$DEB_DIR.tmp/nestirq" && dpkg-buildpackage -us -uc -b) >"$DEB_DIR.tmp/build.log" 2>&1; then
		tail -n 30 "$DEB_DIR.tmp/build.log" >&2
		return 1
	fi
	rm -rf "$DEB_DIR.tmp/nestirq" "$DEB_DIR" && mv "$DEB_DIR.tmp" "$DEB_DIR"
	# Keep the last few commits' packages only.
	ls -dt "$NQ_SYSTEM_CACHE"/deb/*/ | tail -n +4 | xargs -r rm -rf
}

# sys_locked CMD...: CMD (a shell function is fine) holding NQ_LIVE_LOCK when
# it is set: on a host shared with other BPF/KVM users, for steps that load
# BPF.
sys_locked() {
	[ -n "${NQ_LIVE_LOCK:-}" ] || { "$@"; return; }
	local rc
	exec 9>>"$NQ_LIVE_LOCK"
	flock 9
	"$@"
	rc=$?
	flock -u 9
	exec 9>&-
	return $rc
}
