#!/usr/bin/env bash
# `make install` and `make uninstall` into a DESTDIR, with the default and
# another PREFIX: every file, its mode and content, the unit's ExecStart.
# The man page and the bash completion name every command and every flag
# that the binary's --help shows, and nothing it does not: they cannot drift.
set -u
cd "$(dirname "$0")/../.." || exit 2
. tests/cli/lib.sh
SCD=man/nestirq.8.scd
COMP=contrib/bash-completion/nestirq

# The commands of `nestirq --help`, and the flags of `nestirq CMD --help`.
commands() { "$NQ" --help | awk '/^commands:/ {f = 1; next} f && /^  [a-z]/ {print $1}'; }
# Flags are read from the usage lines and the option lines (those that begin
# with a dash), not from prose such as "QEMU -name".
help_flags() {
	"$NQ" "$1" --help | grep -E '^(usage: | +nestirq | +\[| +-)' | grep -oE '(^|[][ ,|])--?[a-z]([a-z.-]*[a-z])?' | sed 's/^[][ ,|]//' | sort -u
}

t=commands_listed
cmds=$(commands)
[ "$(echo "$cmds" | wc -w)" -ge 7 ] && pass $t || fail $t "nestirq --help lists only: $cmds"

# The man page's section for CMD: from "## nestirq CMD" to the next heading.
man_section() { awk -v h="## nestirq $1" '$0 ~ "^#" {f = (index($0, h " ") == 1 || $0 == h)} f' $SCD; }

t=man_lists_every_flag
missing=
for c in $cmds; do
	sec=$(man_section "$c")
	[ -n "$sec" ] || { missing="$missing [no section for $c]"; continue; }
	for f in $(help_flags "$c"); do
		[ "$f" = -h ] || [ "$f" = --help ] && continue # OPTIONS says it once
		grep -qF -- "*$f*" <<<"$sec" || missing="$missing $c:$f"
	done
	# And no flag the command does not have.
	for f in $(grep -oE '^\*--?[a-z][a-z.-]*\*' <<<"$sec" | tr -d '*'); do
		help_flags "$c" | grep -qx -- "$f" || missing="$missing $c:$f(stale)"
	done
done
for f in --help --version; do grep -qF -- "*$f*" $SCD || missing="$missing $f"; done
[ -z "$missing" ] && pass $t || fail $t "$SCD lacks:$missing"

# complete WORDS...: what the completion offers for the last word.
complete_words() {
	bash -c '. "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _nestirq; printf "%s\n" "${COMPREPLY[@]}"' \
		_ "$COMP" "$@"
}

t=completion_lists_every_command
got=$(complete_words nestirq "" | sort)
missing=
for c in $cmds; do grep -qx "$c" <<<"$got" || missing="$missing $c"; done
[ -z "$missing" ] && [ -n "$got" ] && pass $t || fail $t "not completed:$missing"

t=completion_lists_every_flag
missing=
for c in $cmds; do
	got=$(complete_words nestirq "$c" - | sort -u)
	for f in $(help_flags "$c"); do
		[ "$f" = -h ] && continue # convert's help shows it; --help is there for all
		grep -qx -- "$f" <<<"$got" || missing="$missing $c:$f"
	done
	for f in $got; do
		[ "$f" = --help ] || [ "$f" = -- ] && continue
		help_flags "$c" | grep -qx -- "$f" || missing="$missing $c:$f(stale)"
	done
done
[ -z "$missing" ] && pass $t || fail $t "$COMP differs from --help:$missing"

t=completion_values
got="$(complete_words nestirq watch --color a) $(complete_words nestirq convert --to j) $(complete_words nestirq check -r svi)"
[ "$(echo $got)" = "auto always jsonl svi_in_vmcs02" ] && pass $t || fail $t "got: $got"

# The Debian package's version is the binary's.
t=debian_version_matches
deb=$(sed -n '1s/^nestirq (\([^)]*\)).*/\1/p' debian/changelog)
bin=$("$NQ" --version | awk '{print $2}')
[ -n "$bin" ] && [ "$deb" = "$bin" ] && pass $t || fail $t "debian/changelog says $deb, nestirq --version $bin"

if ! command -v scdoc >/dev/null; then
	for t in man_page_renders install_default_prefix install_prefix_usr uninstall_removes_all; do
		skip $t "scdoc not installed (scripts/deps.sh installs it)"
	done
	finish
fi

t=man_page_renders
if ! out=$(make -s man BUILD="$BUILD" 2>&1); then
	fail $t "make man: $out"
elif ! command -v man >/dev/null; then
	skip $t "man-db not installed"
else
	txt=$(MANWIDTH=100 man -l "$BUILD/man/nestirq.8" 2>&1)
	missing=
	for c in $cmds; do grep -q "nestirq $c" <<<"$txt" || missing="$missing $c"; done
	ver=$("$NQ" --version | awk '{print $2}')
	grep -q "nestirq $ver" <<<"$txt" || missing="$missing version-$ver"
	[ -z "$missing" ] && pass $t || fail $t "rendered page lacks:$missing"
fi

# check_install DEST PREFIX: every file, its mode, its content.
check_install() {
	local d=$1$2 bad='' f
	for f in bin/nestirq:755 share/man/man8/nestirq.8:644 share/bash-completion/completions/nestirq:644 \
		lib/systemd/system/nestirq.service:644 share/nestirq/nestirq-alerts.yml:644 \
		share/nestirq/nestirq-dashboard.json:644; do
		[ "$(stat -c %a "$d/${f%:*}" 2>/dev/null)" = "${f#*:}" ] || bad="$bad ${f%:*}(mode ${f#*:})"
	done
	cmp -s "$d/bin/nestirq" "$NQ" || bad="$bad bin/nestirq(content)"
	cmp -s "$d/share/bash-completion/completions/nestirq" $COMP || bad="$bad completion(content)"
	cmp -s "$d/share/nestirq/nestirq-alerts.yml" contrib/prometheus/nestirq-alerts.yml || bad="$bad alerts(content)"
	cmp -s "$d/share/nestirq/nestirq-dashboard.json" contrib/grafana/nestirq-dashboard.json || bad="$bad dashboard(content)"
	grep -qx "ExecStart=$2/bin/nestirq serve --listen 127.0.0.1:9747" "$d/lib/systemd/system/nestirq.service" ||
		bad="$bad unit($(grep ExecStart= "$d/lib/systemd/system/nestirq.service"))"
	[ "$(find "$1" -type f | wc -l)" = 6 ] || bad="$bad extra($(find "$1" -type f | tr '\n' ' '))"
	echo "$bad"
}

t=install_default_prefix
dest=$TMP/dest
if ! out=$(make -s install BUILD="$BUILD" DESTDIR="$dest" 2>&1); then
	fail $t "make install: $out"
else
	bad=$(check_install "$dest" /usr/local)
	[ -z "$bad" ] && pass $t || fail $t "wrong:$bad"
fi

t=install_prefix_usr
if ! out=$(make -s install BUILD="$BUILD" DESTDIR="$TMP/usr" PREFIX=/usr 2>&1); then
	fail $t "make install: $out"
else
	bad=$(check_install "$TMP/usr" /usr)
	[ -z "$bad" ] && pass $t || fail $t "wrong:$bad"
fi

t=uninstall_removes_all
touch "$dest/usr/local/share/keep" # not ours: must stay
make -s uninstall BUILD="$BUILD" DESTDIR="$dest" >/dev/null 2>&1
left=$(find "$dest" -type f)
if [ "$left" = "$dest/usr/local/share/keep" ] && [ ! -d "$dest/usr/local/share/nestirq" ]; then
	pass $t
else
	fail $t "left behind: $left"
fi
finish
