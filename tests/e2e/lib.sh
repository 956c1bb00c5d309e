# shellcheck shell=bash
# Shared helpers of the end-to-end harness (sourced, bash).
# Everything downloaded or built goes under $E2E_CACHE (git-ignored).
E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$E2E_DIR/../.." && pwd)
E2E_CACHE=${E2E_CACHE:-$E2E_DIR/cache}
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
NQ=${NQ:-$BUILD/nestirq}
mkdir -p "$E2E_CACHE"
# Under `make test` these leak in from the outer make; the kernel's selftests
# lib.mk only sets OUTPUT at MAKELEVEL 0, so a nested build finds no rules.
unset MAKELEVEL MAKEFLAGS MFLAGS

e2e_log() { printf '[e2e %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
e2e_die() {
	e2e_log "ERROR: $*"
	exit 1
}

# The mirror the host already uses (never another host).
e2e_mirror() {
	local m
	m=$(grep -h -m1 -E '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}' | head -n1)
	[ -n "$m" ] || m=$(grep -h -m1 -E '^deb ' /etc/apt/sources.list 2>/dev/null | awk '{print $2}')
	echo "${m:-http://deb.debian.org/debian}"
}

# apt options for a private package list: bookworm, bookworm-backports,
# trixie and trixie-backports binaries and trixie sources.  Never touches the
# system's lists and never installs or upgrades anything on the host.
E2E_APT_DIR=$E2E_CACHE/apt
e2e_apt_opts() {
	echo "-o Dir::Etc::sourcelist=$E2E_APT_DIR/sources.list -o Dir::Etc::sourceparts=/dev/null" \
		"-o Dir::State::Lists=$E2E_APT_DIR/lists -o Dir::Cache::archives=$E2E_APT_DIR/archives" \
		"-o Dir::Cache=$E2E_APT_DIR/cache -o APT::Get::List-Cleanup=0 -o Debug::NoLocking=1" \
		"-o APT::Sandbox::User=root"
}
e2e_apt_update() {
	local m list
	m=$(e2e_mirror)
	mkdir -p "$E2E_APT_DIR/lists/partial" "$E2E_APT_DIR/archives/partial" "$E2E_APT_DIR/cache"
	list="deb $m bookworm main
deb $m bookworm-backports main
deb $m trixie main
deb $m trixie-backports main
deb-src $m trixie main"
	# Refresh at most once a day, and whenever the list of suites changed.
	if [ "$(cat "$E2E_APT_DIR/sources.list" 2>/dev/null)" != "$list" ]; then
		echo "$list" >"$E2E_APT_DIR/sources.list"
		rm -f "$E2E_APT_DIR/lists/"*Packages*
	fi
	if [ -z "$(find "$E2E_APT_DIR/lists" -maxdepth 1 -name '*Packages*' -mmin -1440 2>/dev/null | head -n1)" ]; then
		e2e_log "apt: private lists (bookworm, bookworm-backports, trixie, trixie-backports, trixie deb-src) from $m"
		# shellcheck disable=SC2046
		timeout 300 apt-get $(e2e_apt_opts) update -qq >"$E2E_APT_DIR/update.log" 2>&1 ||
			{ cat "$E2E_APT_DIR/update.log" >&2; e2e_die "apt-get update (private lists) failed"; }
	fi
}
e2e_apt() { # apt-get with the private lists, 10 min at most
	# shellcheck disable=SC2046
	timeout 600 apt-get $(e2e_apt_opts) "$@"
}
e2e_apt_cache() {
	# shellcheck disable=SC2046
	apt-cache $(e2e_apt_opts) "$@"
}

# The kernel series of the matrix and their image packages:
#   6.1       bookworm's linux-image-amd64 (6.1.0-N-amd64)
#   6.12      bookworm-backports' linux-image-amd64 (6.12.95+deb12-amd64)
#   6.12.117  trixie (Debian 13's default kernel)
#   6.16      trixie-backports, 6.16.12+deb13-amd64
#   7.3       trixie-backports, 7.3.4+deb13-amd64 (a meta package: the kernel
#             is in linux-binary-<release>, the modules in linux-modules-<release>)
# shellcheck disable=SC2034 # used by fetch.sh
E2E_SERIES=(6.1 6.12 6.12.117 6.16 7.3)
e2e_kernel_pkg() {
	local series=$1
	case $series in
	6.1) e2e_apt_cache show linux-image-amd64 2>/dev/null |
		awk '/^Version:/ {v=$2} /^Depends:/ && index(v, "6.1.") == 1 {print $2; exit}' ;;
	6.12) e2e_apt_cache show linux-image-amd64 2>/dev/null |
		awk '/^Version:/ {v=$2} /^Depends:/ && index(v, "6.12.") == 1 && v ~ /bpo12/ {print $2; exit}' ;;
	6.12.117) echo linux-image-6.12.117+deb13-amd64 ;;
	6.16) echo linux-image-6.16.12+deb13-amd64 ;;
	7.3) echo linux-image-7.3.4+deb13-amd64 ;;
	*) return 1 ;;
	esac
}
# The selftests flow nestirq must detect on a series (check.sh).
e2e_series_flow() {
	case $1 in
	6.1) echo "<=6.11" ;;
	*) echo "6.12+" ;;
	esac
}

# Host tools, installed from the system's own apt sources, only if missing.
E2E_HOST_PKGS=(qemu-system-x86 bochs bochsbios vgabios bochs-term busybox-static cpio isolinux
	syslinux-common xorriso xz-utils zstd kmod gcc g++ libc6-dev make bc flex bison rsync procps file)
e2e_host_pkgs() {
	local p missing=()
	for p in "${E2E_HOST_PKGS[@]}" "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	e2e_log "installing host packages: ${missing[*]}"
	timeout 600 apt-get update -qq >/dev/null 2>&1
	DEBIAN_FRONTEND=noninteractive timeout 900 apt-get install -y -qq --no-install-recommends \
		"${missing[@]}" >"$E2E_CACHE/host-pkgs.log" 2>&1 ||
		{ tail -20 "$E2E_CACHE/host-pkgs.log" >&2; e2e_die "apt-get install ${missing[*]} failed"; }
}
