#!/usr/bin/env bash
# The Debian package: `dpkg-buildpackage -us -uc -b` builds
# nestirq_<version>_amd64.deb from a clean `git archive`; its Depends come
# from dpkg-shlibdeps; lintian reports no error; `apt-get install ./nestirq_*.deb`
# into a fresh Debian 12 root pulls in the libraries, and nestirq --version,
# nestirq doctor and man nestirq work there.  Needs root, debhelper,
# dpkg-dev, lintian and debootstrap (scripts/deps.sh installs them).
set -u
cd "$(dirname "$0")/../.." || exit 2
. tests/cli/lib.sh
. tests/system/lib.sh
TESTS="deb_builds deb_depends lintian_no_errors deb_installs deb_files deb_version deb_doctor deb_man"

why=$(sys_why_not)
if [ -z "$why" ]; then
	for c in dpkg-buildpackage dh lintian git; do
		command -v $c >/dev/null || { why="$c not installed (scripts/deps.sh installs it)"; break; }
	done
fi
[ -z "$why" ] && ! git rev-parse -q --verify HEAD >/dev/null 2>&1 && why="not a git checkout"
if [ -n "$why" ]; then
	for t in $TESTS; do skip $t "$why"; done
	finish
fi
sys_init

# The version the binary reports is the package's version.
ver=$(sed -n 's/^#define NESTIRQ_VERSION "\(.*\)"/\1/p' include/nestirq/version.h)
t=deb_builds
start=$SECONDS
if ! build_deb; then
	fail $t "dpkg-buildpackage failed"
	finish
fi
deb=$DEB_DIR/nestirq_${ver}_amd64.deb
if [ ! -f "$deb" ]; then
	fail $t "no nestirq_${ver}_amd64.deb (include/nestirq/version.h): $(ls "$DEB_DIR")"
	finish
fi
pass "$t ($(basename "$deb"), $((SECONDS - start)) s)"

# Each library the binary links, by its Debian package, with the versions
# dpkg-shlibdeps computed, and libelf1, named in debian/control (libbpf's
# ELF loader is what reads the BPF object; the binary calls no libelf
# function itself, so shlibdeps alone would leave it to libbpf1).
t=deb_depends
depends=$(dpkg-deb -f "$deb" Depends)
missing=
for p in libbpf1 libmicrohttpd12 zlib1g libc6; do
	grep -qE "(^|, )$p \(>= [^)]+\)" <<<"$depends" || missing="$missing $p"
done
dpkg-deb -f "$deb" Depends | grep -q '\${' && missing="$missing (unsubstituted variable)"
grep -qE "(^|, )libelf1(,|$| )" <<<"$depends" || missing="$missing libelf1"
[ -z "$missing" ] && pass "$t ($depends)" || fail $t "Depends: $depends lacks:$missing"

t=lintian_no_errors
out=$(lintian --allow-root "$DEB_DIR"/nestirq_"${ver}"_amd64.changes 2>&1)
if grep -q '^E: ' <<<"$out"; then
	fail $t "$(grep '^E: ' <<<"$out" | tr '\n' ' ')"
else
	grep '^W: ' <<<"$out" | sed 's/^/  lintian: /'
	pass $t
fi

root=$TMP/root
t=deb_installs
if ! make_fresh_root "$root" || ! mount_root "$root"; then
	fail $t "no fresh root"
	finish
fi
cp "$deb" "$root/tmp/"
if ! run_in_root "$root" "apt-get update -qq && apt-get install -y -qq --no-install-recommends ./tmp/$(basename "$deb") man-db" \
	>"$TMP/apt.log" 2>&1; then
	tail -n 20 "$TMP/apt.log"
	fail $t "apt-get install ./$(basename "$deb") failed"
	finish
fi
missing=
for p in nestirq libbpf1 libelf1 libmicrohttpd12 zlib1g; do
	run_in_root "$root" "dpkg-query -W -f='\${Status}' $p" | grep -q 'install ok installed' || missing="$missing $p"
done
[ -z "$missing" ] && pass $t || fail $t "not installed:$missing"

t=deb_files
bad=
for f in /usr/bin/nestirq /usr/share/man/man8/nestirq.8.gz /usr/share/bash-completion/completions/nestirq \
	/lib/systemd/system/nestirq.service /usr/share/nestirq/nestirq-alerts.yml \
	/usr/share/nestirq/nestirq-dashboard.json /usr/share/doc/nestirq/copyright; do
	[ -f "$root$f" ] || bad="$bad $f"
done
grep -qx 'ExecStart=/usr/bin/nestirq serve --listen 127.0.0.1:9747' "$root/lib/systemd/system/nestirq.service" ||
	bad="$bad ExecStart($(grep ExecStart= "$root/lib/systemd/system/nestirq.service"))"
[ -z "$bad" ] && pass $t || fail $t "missing or wrong:$bad"

t=deb_version
out=$(run_in_root "$root" "nestirq --version" 2>&1)
[[ $out == "nestirq $ver "* ]] && pass "$t ($out)" || fail $t "nestirq --version said: $out"

# doctor loads every BPF program: 0 (all invariants checkable) or 4 (not
# all here) both prove the installed binary and its libraries work.
t=deb_doctor
out=$(sys_locked run_in_root "$root" "nestirq doctor" 2>&1)
rc=$?
if { [ $rc = 0 ] || [ $rc = 4 ]; } && grep -q "$(uname -r)" <<<"$out" && grep -qi 'accept' <<<"$out"; then
	pass "$t (exit $rc)"
else
	echo "$out" | tail -n 20
	fail $t "nestirq doctor exited $rc"
fi

t=deb_man
out=$(run_in_root "$root" "MANWIDTH=80 man -P cat nestirq" 2>&1)
if grep -q '^NAME' <<<"$out" && grep -q 'nestirq serve' <<<"$out" && grep -q -- '--enable-bpf-stats' <<<"$out"; then
	pass $t
else
	fail $t "man nestirq: $(head -n 3 <<<"$out")"
fi
finish
