#!/usr/bin/env bash
# Sets up, builds and runs every test: once in a normal (hardened) build, once under ASan+UBSan;
# simnet's tests (its steps run on several threads) once more under ThreadSanitizer.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
jobs=$(nproc)

passed=0
failed=0
# run_ctest BUILD_DIR [ctest args...]: runs ctest, adds its counts to the totals, and stops the
# script on a failure (after the totals line, so the last line still says how many passed).
run_ctest() {
  local dir=$1 log
  shift
  log=$(mktemp)
  local rc=0
  ctest --test-dir "$dir" --output-on-failure "$@" | tee "$log" || rc=$?
  local line
  line=$(grep -E '^[0-9]+% tests passed, [0-9]+ tests failed out of [0-9]+' "$log" | tail -n1 || true)
  rm -f "$log"
  if [ -z "$line" ]; then
    echo "test.sh: ctest in $dir printed no summary" >&2
    rc=1
  else
    local f total
    f=$(sed -E 's/.* ([0-9]+) tests failed out of ([0-9]+).*/\1/' <<<"$line")
    total=$(sed -E 's/.* tests failed out of ([0-9]+).*/\1/' <<<"$line")
    passed=$((passed + total - f))
    failed=$((failed + f))
  fi
  if [ "$rc" -ne 0 ]; then
    echo "total: $passed passed, $((failed > 0 ? failed : 1)) failed"
    exit "$rc"
  fi
}

cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$jobs"
run_ctest build -j"$jobs"

cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DTLPMESH_SANITIZE=ON >/dev/null
cmake --build build-asan -j"$jobs"
run_ctest build-asan -j"$jobs"

cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTLPMESH_TSAN=ON >/dev/null
cmake --build build-tsan -j"$jobs" --target test_simnet
TSAN_OPTIONS=halt_on_error=1 run_ctest build-tsan -R '^test_simnet$'

# The Debian package: dpkg-buildpackage from the checkout's files, then lintian (no error), as
# one more test (it takes about a minute, too long for ctest).
if command -v dpkg-buildpackage >/dev/null && command -v lintian >/dev/null; then
  if bash scripts/package.sh build-deb; then
    passed=$((passed + 1))
  else
    echo "total: $passed passed, $((failed + 1)) failed"
    exit 1
  fi
else
  echo "test.sh: package skipped: dpkg-buildpackage or lintian absent (scripts/setup.sh installs them)"
fi

# Every stage above: the normal build, ASan+UBSan, test_simnet under TSan, and the package.
echo "total: $passed passed, $failed failed"
