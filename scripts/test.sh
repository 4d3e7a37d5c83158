#!/usr/bin/env bash
# All tests: installs what is missing, builds (Release, build/) and runs the suite, then builds
# again with AddressSanitizer + UndefinedBehaviorSanitizer (build-sanitize/) and runs it there,
# then runs every fuzz target for 15 s on its seeds (scripts/fuzz.sh, build-fuzz/).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh test
jobs=$(nproc)
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DLSTM_BUILD_TESTS=ON >/dev/null
cmake --build build -j "$jobs"
(cd build && ctest --output-on-failure -j "$jobs")
cmake -S . -B build-sanitize -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLSTM_SANITIZE=ON -DLSTM_BUILD_TESTS=ON >/dev/null
cmake --build build-sanitize -j "$jobs"
(cd build-sanitize && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --output-on-failure -j "$jobs")
./scripts/fuzz.sh 15
