#!/usr/bin/env bash
# Fuzzes every loader with libFuzzer (Debian's clang): builds build-fuzz/ (the library with
# AddressSanitizer, UndefinedBehaviorSanitizer and coverage), then runs each target of
# tests/fuzz/ on its committed seed corpus for SECONDS (default 60), one after another.
#   scripts/fuzz.sh [SECONDS] [TARGET...]     e.g. scripts/fuzz.sh 15   (what scripts/test.sh does)
# New inputs that reach new code go to build-fuzz/corpus/<target>/ (not committed); a finding
# stops the run, leaves its input as build-fuzz/crash-*, and exits non-zero. For the long run
# of docs/robustness.md: LSTM_FUZZ_RUNS=10000000 scripts/fuzz.sh 0 (runs, not seconds).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(npy model graph checkpoint config csv dates text midi pairs audio torch keras onnx)
scripts/install-deps.sh fuzz
cmake -S . -B build-fuzz -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DLSTM_FUZZ=ON -DLSTM_BUILD_TESTS=OFF -DLSTM_BUILD_EXAMPLES=OFF >/dev/null
cmake --build build-fuzz -j "$(nproc)" --target $(printf 'fuzz_%s ' "${targets[@]}")
limit=(-max_total_time="$seconds")
[ -n "${LSTM_FUZZ_RUNS:-}" ] && limit=(-runs="$LSTM_FUZZ_RUNS")
for t in "${targets[@]}"; do
  corpus=build-fuzz/corpus/$t
  mkdir -p "$corpus"
  dict=()
  case $t in model|checkpoint|config) dict=(-dict=tests/fuzz/json.dict) ;; esac
  echo "== fuzz_$t (${limit[*]})"
  # -rss_limit_mb / -malloc_limit_mb: a loader that allocates what a small input asks for
  # is a finding here.
  log=build-fuzz/fuzz_$t.log
  rc=0
  # keras: libhdf5 mallocs sizes read from corrupt files (H5C_protect: a 4 GiB object header
  # that it never touches, since the read past the file's end fails first). ASan returns NULL for
  # any malloc over the 512 MB limit, as malloc does on a machine without overcommit, so that
  # libhdf5 takes its error path instead of libFuzzer's malloc hook calling it a finding; lstm's
  # own allocations over the limit (operator new) still abort, which is a finding. The CLI on
  # such a file: a clear error, exit 1, 22 MB peak RSS. docs/robustness.md
  asan=detect_leaks=1
  [ "$t" = keras ] && asan=detect_leaks=1:allocator_may_return_null=1:max_allocation_size_mb=512
  (cd build-fuzz && OMP_NUM_THREADS=1 ASAN_OPTIONS=$asan \
    LSAN_OPTIONS=suppressions=../tests/fuzz/lsan.supp:print_suppressions=0 ./bin/fuzz_"$t" \
    "${limit[@]}" -rss_limit_mb=1024 -malloc_limit_mb=512 -max_len=65536 -timeout=10 \
    -print_final_stats=1 ${dict[@]+"${dict[@]/#-dict=/-dict=../}"} "corpus/$t" "../tests/fuzz/corpus/$t") \
    >"$log" 2>&1 || rc=$?
  grep -E "(INITED|DONE) |stat::number_of_executed_units|ERROR|SUMMARY|Test unit written" "$log" || true
  if [ "$rc" -ne 0 ]; then
    echo "fuzz_$t: a finding (exit $rc); the log is $log, the input build-fuzz/crash-* or oom-*" >&2
    exit 1
  fi
done
echo "fuzzing: ${#targets[@]} targets, no findings"
