#!/usr/bin/env bash
# Coverage-guided fuzzing with libFuzzer (clang): builds build-fuzz-clang with -DTLPMESH_FUZZ=ON
# (ASan+UBSan, assertions on) and runs every target (or the ones named) for SECONDS each, PAR
# targets at a time, starting from tests/fuzz/corpus/.
#   scripts/fuzz.sh [-t SECONDS] [-p PAR] [-j JOBS] [TARGET...]   e.g. scripts/fuzz.sh -t 300 record
# scripts/test.sh runs it as its fuzz stage (-t 15 -p 2); long runs are this script by hand.
# New inputs that reach new code go to build-fuzz-clang/corpus/<target>/ (not the source tree);
# crashes to build-fuzz-clang/artifacts/<target>/. To keep a crash as a regression test, minimise
# it (fuzz_<t> -minimize_crash=1 -runs=10000 CRASH), fix the bug, and copy the result into
# tests/fuzz/corpus/<target>/ (ctest's fuzz_replay_<target> then runs it in every build).
# The last line says "fuzz: N passed, N failed" (targets), and build-fuzz-clang/fuzz-counts holds
# "N N" for scripts/test.sh; the exit status is 1 on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=60
par=1
jobs=1
while getopts "t:p:j:" opt; do
  case $opt in
    t) seconds=$OPTARG ;;
    p) par=$OPTARG ;;
    j) jobs=$OPTARG ;;
    *) echo "usage: $0 [-t SECONDS] [-p PAR] [-j JOBS] [TARGET...]" >&2; exit 2 ;;
  esac
done
shift $((OPTIND - 1))

command -v clang >/dev/null || { echo "fuzz: clang is needed (scripts/setup.sh installs it)" >&2; exit 2; }
build=build-fuzz-clang
# -O1 -g and assertions on: the code's own assert() invariants are part of what is fuzzed.
CC=clang cmake -S . -B "$build" -DTLPMESH_FUZZ=ON -DCMAKE_BUILD_TYPE=Debug \
  -DCMAKE_C_FLAGS_DEBUG="-O1 -g" >/dev/null
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for f in tests/fuzz/fuzz_*.c; do
    t=$(basename "$f" .c); t=${t#fuzz_}
    [ -d "tests/fuzz/corpus/$t" ] && targets+=("$t")
  done
fi
rm -f "$build/fuzz-counts"
cmake --build "$build" -j"$(nproc)" --target "${targets[@]/#/fuzz_}"

parallel=()
# -jobs runs separate processes that log to fuzz-N.log in the current directory.
[ "$jobs" -gt 1 ] && parallel=(-jobs="$jobs" -workers="$jobs")

# run_target T: one libFuzzer run; its log is $build/fuzz-T.log.
run_target() {
  local t=$1
  mkdir -p "$build/corpus/$t" "$build/artifacts/$t"
  # Leaks are checked too; a timeout over 10 s or 2 GB of memory counts as a failure.
  ASAN_OPTIONS=detect_leaks=1 "$build/tests/fuzz/fuzz_$t" \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
    "${parallel[@]}" -print_final_stats=1 \
    -artifact_prefix="$build/artifacts/$t/" \
    "$build/corpus/$t" "tests/fuzz/corpus/$t" >"$build/fuzz-$t.log" 2>&1
}

# report T RC: one line per target, and the log's tail when it failed.
report() {
  local t=$1 rc=$2 execs rate
  execs=$(sed -nE 's/^stat::number_of_executed_units: *//p' "$build/fuzz-$t.log" | tail -n1)
  rate=$(sed -nE 's/^stat::average_exec_per_sec: *//p' "$build/fuzz-$t.log" | tail -n1)
  if [ "$rc" -eq 0 ]; then
    echo "fuzz: $t passed: ${execs:-?} inputs in ${seconds}s (${rate:-?}/s)" >&2
  else
    echo "fuzz: $t FAILED (exit $rc; inputs in $build/artifacts/$t/):" >&2
    tail -n 40 "$build/fuzz-$t.log" >&2
  fi
}

failed=()
declare -A running=() # pid -> target
finish_one() {
  local pid rc=0
  wait -n -p pid "${!running[@]}" || rc=$?
  report "${running[$pid]}" "$rc"
  [ "$rc" -eq 0 ] || failed+=("${running[$pid]}")
  unset "running[$pid]"
}
echo "fuzz: ${#targets[@]} targets, ${seconds}s each, $par at a time" >&2
for t in "${targets[@]}"; do
  [ ${#running[@]} -lt "$par" ] || finish_one
  run_target "$t" &
  running[$!]=$t
done
while [ ${#running[@]} -gt 0 ]; do finish_one; done

[ ${#failed[@]} -eq 0 ] || echo "fuzz: FAILED: ${failed[*]}" >&2
echo "$((${#targets[@]} - ${#failed[@]})) ${#failed[@]}" >"$build/fuzz-counts"
echo "fuzz: $((${#targets[@]} - ${#failed[@]})) passed, ${#failed[@]} failed"
[ ${#failed[@]} -eq 0 ]
