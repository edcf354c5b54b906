#!/usr/bin/env bash
# Installs the Debian 12 packages tlpmesh builds, tests and demos with.
# Idempotent: installs only what is missing. Needs root (or sudo) on a fresh machine.
set -euo pipefail

PKGS=(
  build-essential cmake pkg-config git
  libuv1-dev libsodium-dev libmsgpack-dev liblmdb-dev libcmocka-dev
  libinih-dev libjansson-dev libmicrohttpd-dev
  python3 python3-dissononce python3-jsonschema curl lmdb-utils
  libsystemd-dev scdoc systemd prometheus debhelper dpkg-dev fakeroot lintian man-db
  strace
  chromium chromium-driver python3-selenium  # the console's browser tests (tests/lib/browser.py)
  clang libclang-rt-14-dev  # the fuzz stage: libFuzzer (libclang_rt.fuzzer) is in the -rt package
)

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "setup: need root to install: ${missing[*]}" >&2; exit 2; }
  SUDO=sudo
fi
echo "setup: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# The tests need only promtool from the prometheus package, not the Prometheus server its install
# starts on a systemd machine: stop and disable it when this script installed it.
if [[ " ${missing[*]} " == *" prometheus "* ]] && [ -d /run/systemd/system ]; then
  $SUDO systemctl disable --now prometheus >/dev/null 2>&1 || true
fi
