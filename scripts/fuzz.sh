#!/usr/bin/env bash
# Coverage-guided fuzzing with libFuzzer (clang): builds build-fuzz-clang with -DTLPMESH_FUZZ=ON
# and runs every target (or the ones named) for SECONDS each, starting from tests/fuzz/corpus/.
#   scripts/fuzz.sh [-t SECONDS] [-j JOBS] [TARGET...]     e.g. scripts/fuzz.sh -t 300 record recon
# New inputs that reach new code go to build-fuzz-clang/corpus/<target>/ (not the source tree);
# crashes to build-fuzz-clang/artifacts/<target>/. To keep a crash as a regression test, minimise
# it (fuzz_<t> -minimize_crash=1 -runs=10000 CRASH), fix the bug, and copy the result into
# tests/fuzz/corpus/<target>/ (ctest's fuzz_replay_<target> then runs it in every build).
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=60
jobs=1
while getopts "t:j:" opt; do
  case $opt in
    t) seconds=$OPTARG ;;
    j) jobs=$OPTARG ;;
    *) echo "usage: $0 [-t SECONDS] [-j JOBS] [TARGET...]" >&2; exit 2 ;;
  esac
done
shift $((OPTIND - 1))

command -v clang >/dev/null || { echo "fuzz: clang is needed (apt-get install clang)" >&2; exit 2; }
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
cmake --build "$build" -j"$(nproc)" --target "${targets[@]/#/fuzz_}"

failed=()
parallel=()
# -jobs runs separate processes that log to fuzz-N.log in the current directory.
[ "$jobs" -gt 1 ] && parallel=(-jobs="$jobs" -workers="$jobs")
for t in "${targets[@]}"; do
  mkdir -p "$build/corpus/$t" "$build/artifacts/$t"
  echo "fuzz: $t for ${seconds}s" >&2
  # Leaks are checked too; a timeout over 10 s or 2 GB of memory counts as a failure.
  if ! ASAN_OPTIONS=detect_leaks=1 "$build/tests/fuzz/fuzz_$t" \
      -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
      "${parallel[@]}" -print_final_stats=1 \
      -artifact_prefix="$build/artifacts/$t/" \
      "$build/corpus/$t" "tests/fuzz/corpus/$t" 2>"$build/fuzz-$t.log"; then
    failed+=("$t")
    tail -n 40 "$build/fuzz-$t.log" >&2
  fi
  grep -E '^stat::(number_of_executed_units|average_exec_per_sec)' "$build/fuzz-$t.log" >&2 || true
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: FAILED: ${failed[*]} (inputs in $build/artifacts/)" >&2
  exit 1
fi
echo "fuzz: all ${#targets[@]} targets ran ${seconds}s without a failure" >&2
