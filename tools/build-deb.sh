#!/usr/bin/env bash
# Builds BUILD/jvmwatch_<VERSION>_<arch>.deb from the binaries `make all` built (no second
# compile): assembles a staging tree in BUILD/deb/root, strips the copies, generates the
# default config, the manual pages and the control file, and runs dpkg-deb.  `make deb`
# calls it; docs/packaging.md says what goes where and why.
#   usage: tools/build-deb.sh [BUILD]        (run from the repository top)
set -euo pipefail

build=${1:-build}
top=$(pwd)
if [ ! -f VERSION ] || [ ! -d packaging/deb ]; then
    echo "build-deb.sh: run it from the repository top" >&2
    exit 2
fi
for b in jvmwatch jvmwatchd; do
    [ -x "$build/bin/$b" ] || { echo "build-deb.sh: $build/bin/$b is missing (make all)" >&2; exit 2; }
done
for tool in dpkg-deb dpkg-shlibdeps help2man strip; do
    command -v "$tool" >/dev/null || { echo "build-deb.sh: $tool is missing (make deps)" >&2; exit 2; }
done

version=$(head -n1 VERSION)
arch=$(dpkg --print-architecture)
maintainer=${DEB_MAINTAINER:-jvmwatch maintainers <jvmwatch@example.org>}
# Dates in the changelog and the manual pages: the last commit's, so that two builds of
# one commit give the same files.
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}
describe=$(git describe --always --dirty 2>/dev/null || true)

work="$build/deb"
root="$work/root"
deb="$build/jvmwatch_${version}_${arch}.deb"
rm -rf "$work"
mkdir -p "$root/DEBIAN"
umask 022

# --- binaries, stripped in staging (the build tree keeps its symbols) -------------------
install -D -m 0755 "$build/bin/jvmwatchd" "$root/usr/sbin/jvmwatchd"
install -D -m 0755 "$build/bin/jvmwatch" "$root/usr/bin/jvmwatch"
# What dh_strip does for executables.
strip --remove-section=.comment --remove-section=.note --strip-unneeded \
    "$root/usr/sbin/jvmwatchd" "$root/usr/bin/jvmwatch"

# --- systemd unit: packaging/jvmwatchd.service with the packaged paths -------------------
# The source unit names a hand install in /usr/local; the package runs /usr/sbin/jvmwatchd
# with its conffile.
exec_from='^ExecStart=/usr/local/sbin/jvmwatchd '
exec_to='ExecStart=/usr/sbin/jvmwatchd --config /etc/jvmwatch/jvmwatchd.yaml '
grep -q "$exec_from" packaging/jvmwatchd.service || {
    echo "build-deb.sh: packaging/jvmwatchd.service has no 'ExecStart=/usr/local/sbin/jvmwatchd ...' line to rewrite" >&2
    exit 1
}
install -d "$root/lib/systemd/system"
sed -e "s|$exec_from|$exec_to|" packaging/jvmwatchd.service > "$root/lib/systemd/system/jvmwatchd.service"
chmod 0644 "$root/lib/systemd/system/jvmwatchd.service"

# --- the default config, a conffile -------------------------------------------------
install -d "$root/etc/jvmwatch"
"$build/bin/jvmwatchd" --print-default-config > "$root/etc/jvmwatch/jvmwatchd.yaml"
chmod 0644 "$root/etc/jvmwatch/jvmwatchd.yaml"

# --- documentation -----------------------------------------------------------------
doc="$root/usr/share/doc/jvmwatch"
install -d "$doc" "$doc/examples"
install -m 0644 README.md docs/*.md docs/events.schema.json "$doc/"
install -m 0644 docs/examples/* "$doc/examples/"
install -m 0644 packaging/deb/copyright "$doc/copyright"
# A native package (the version has no Debian revision): its changelog is changelog.gz.
changelog_date=$(date -u -R -d "@$SOURCE_DATE_EPOCH")
{
    echo "jvmwatch ($version) unstable; urgency=medium"
    echo
    echo "  * jvmwatch $version${describe:+, built from git $describe}."
    echo
    echo " -- $maintainer  $changelog_date"
} > "$work/changelog"
gzip -9n < "$work/changelog" > "$doc/changelog.gz"
chmod 0644 "$doc/changelog.gz"

# --- manual pages, from --help and --version ----------------------------------------
# packaging/deb/NAME.h2m adds the sections --help cannot say (files, exit status, see also).
man_page() {  # BINARY SECTION NAME-LINE OUT
    help2man --no-info --no-discard-stderr --section="$2" --name="$3" \
        --include="packaging/deb/$(basename "$1").h2m" \
        --source="jvmwatch $version" --manual="jvmwatch" "$1" > "$work/page"
    install -d "$(dirname "$4")"
    gzip -9n < "$work/page" > "$4"
    chmod 0644 "$4"
}
man_page "$build/bin/jvmwatchd" 8 "watch JVMs with eBPF and write their attach audit stream" \
    "$root/usr/share/man/man8/jvmwatchd.8.gz"
man_page "$build/bin/jvmwatch" 1 "attach to HotSpot JVMs safely, list them, check the kernel" \
    "$root/usr/share/man/man1/jvmwatch.1.gz"

# --- lintian overrides (each with its reason in the file) -----------------------------
install -D -m 0644 packaging/deb/lintian-overrides "$root/usr/share/lintian/overrides/jvmwatch"

# --- control ---------------------------------------------------------------------
# Depends: the packages of the shared libraries the binaries load, from dpkg-shlibdeps
# (it wants a debian/control beside it).
mkdir -p "$work/shlibs/debian"
printf 'Source: jvmwatch\n\nPackage: jvmwatch\nArchitecture: any\n' > "$work/shlibs/debian/control"
# The statically linked CLI has no dynamic section: only dynamic executables are passed.
dynamic=()
for f in "$root/usr/sbin/jvmwatchd" "$root/usr/bin/jvmwatch"; do
    case "$(objdump -p "$f")" in *NEEDED*) dynamic+=("-e$top/$f") ;; esac
done
depends=$(cd "$work/shlibs" && dpkg-shlibdeps -O "${dynamic[@]}" 2>"$top/$work/shlibdeps.log" |
          sed -n 's/^shlibs:Depends=//p') || {
    cat "$work/shlibdeps.log" >&2
    exit 1
}
[ -n "$depends" ] || { echo "build-deb.sh: dpkg-shlibdeps found no dependencies" >&2; cat "$work/shlibdeps.log" >&2; exit 1; }

# Built-Using: the source packages of the archives linked into the static CLI (Makefile:
# CLI_LDLIBS, plus libstdc++ and glibc), whose licences (LGPL) ask for their sources.
# (Static-Built-Using would say it more exactly, but bookworm's lintian does not know it.)
static_pkgs=()
for a in libbpf.a libelf.a libz.a libstdc++.a libc.a; do
    path=$(readlink -f "$(${CXX:-g++} -print-file-name=$a)")
    owner=$(dpkg-query -S "$path" 2>/dev/null || dpkg-query -S "${path#/usr}" 2>/dev/null) || {
        echo "build-deb.sh: no package owns $path ($a, linked into jvmwatch)" >&2
        exit 1
    }
    pkg=${owner%%:*}
    static_pkgs+=("$(dpkg-query -W -f='${source:Package} (= ${source:Version})' "$pkg")")
done
built_using=$(printf '%s\n' "${static_pkgs[@]}" | sort -u | paste -sd, | sed 's/,/, /g')

installed_size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
sed -e "s|@VERSION@|$version|" -e "s|@ARCH@|$arch|" -e "s|@MAINTAINER@|$maintainer|" \
    -e "s|@INSTALLED_SIZE@|$installed_size|" -e "s|@DEPENDS@|$depends|" \
    -e "s|@BUILT_USING@|$built_using|" \
    packaging/deb/control.in > "$root/DEBIAN/control"
install -m 0644 packaging/deb/conffiles "$root/DEBIAN/conffiles"
install -m 0755 packaging/deb/postinst packaging/deb/prerm packaging/deb/postrm "$root/DEBIAN/"
(cd "$root" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | LC_ALL=C sort -z |
    xargs -0 md5sum) > "$work/md5sums"
install -m 0644 "$work/md5sums" "$root/DEBIAN/md5sums"

dpkg-deb --root-owner-group -Zxz --build "$root" "$deb.tmp" >/dev/null
mv "$deb.tmp" "$deb"
echo "$deb"
