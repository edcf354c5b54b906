#!/usr/bin/env bash
# Builds the Debian package (debian/, dpkg-buildpackage, debhelper compat 13) from the files of a
# clean checkout, then runs lintian on it: no lintian error may remain.
#   bash scripts/package.sh [OUTDIR]     (default: build-deb/; prints the .deb path last)
# The files are those git tracks (plus new files not ignored), copied to a fresh directory, so
# nothing of the developer's build trees gets in; the package's version must be the CMake one.
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(realpath -m "${1:-build-deb}")

cmake_version=$(sed -nE 's/^project\(tlpmesh VERSION ([0-9.]+).*/\1/p' CMakeLists.txt)
deb_version=$(dpkg-parsechangelog -l debian/changelog -S Version)
if [ "$cmake_version" != "$deb_version" ]; then
  echo "package.sh: debian/changelog has $deb_version, CMakeLists.txt $cmake_version" >&2
  exit 1
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/tlpmesh-$deb_version"
git ls-files -z --cached --others --exclude-standard | xargs -0 tar -cf - --no-recursion |
  tar -xf - -C "$work/tlpmesh-$deb_version"

(cd "$work/tlpmesh-$deb_version" &&
  DEB_BUILD_OPTIONS="parallel=$(nproc) ${DEB_BUILD_OPTIONS:-}" \
    dpkg-buildpackage -us -uc -b >"$work/build.log" 2>&1) || {
  tail -n 60 "$work/build.log" >&2
  echo "package.sh: dpkg-buildpackage failed" >&2
  exit 1
}

mkdir -p "$out"
arch=$(dpkg-architecture -qDEB_HOST_ARCH)
deb="$out/tlpmesh_${deb_version}_${arch}.deb"
cp "$work/tlpmesh_${deb_version}_${arch}.deb" "$deb"
cp "$work/tlpmesh_${deb_version}_${arch}.changes" "$work"/*.buildinfo "$out/" 2>/dev/null || true

# What the package does to a system, in a scratch root rather than this machine: its postinst
# runs systemd-sysusers and systemd-tmpfiles on these files. A tlpmesh system user, the
# directories it owns, and no config (so no node starts with a key nobody made).
root="$work/root"
mkdir -p "$root/etc"
touch "$root/etc/passwd" "$root/etc/group" "$root/etc/shadow" "$root/etc/gshadow"
dpkg-deb -x "$deb" "$root"
if dpkg-deb -c "$deb" | grep -q ' \./etc/.'; then
  echo "package.sh: the package installs files under /etc" >&2
  exit 1
fi
systemd-sysusers --root="$root" "$root/usr/lib/sysusers.d/tlpmesh.conf" 2>/dev/null
systemd-tmpfiles --root="$root" --create "$root/usr/lib/tmpfiles.d/tlpmesh.conf"
uid=$(awk -F: '$1 == "tlpmesh" {print $3}' "$root/etc/passwd")
gid=$(awk -F: '$1 == "tlpmesh" {print $3}' "$root/etc/group")
shell=$(awk -F: '$1 == "tlpmesh" {print $7}' "$root/etc/passwd")
if [ -z "$uid" ] || [ "$uid" -ge 1000 ] || [ "$shell" != /usr/sbin/nologin ]; then
  echo "package.sh: no tlpmesh system user (uid '$uid', shell '$shell')" >&2
  exit 1
fi
if [ "$(stat -c '%u %a' "$root/var/lib/tlpmesh")" != "$uid 750" ] ||
  [ "$(stat -c '%U %g %a' "$root/etc/tlpmesh")" != "root $gid 750" ] ||
  [ -n "$(ls -A "$root/etc/tlpmesh")" ]; then
  echo "package.sh: /var/lib/tlpmesh or /etc/tlpmesh not as tmpfiles.d says" >&2
  exit 1
fi
echo "package.sh: user tlpmesh (uid $uid), /var/lib/tlpmesh and an empty /etc/tlpmesh: ok"

# lintian: every tag printed; an error fails the build.
lintian --fail-on error --display-info "$deb" | tee "$out/lintian.txt"
echo "package.sh: lintian: $(grep -c '^E:' "$out/lintian.txt" || true) errors," \
  "$(grep -c '^W:' "$out/lintian.txt" || true) warnings"
echo "$deb"
