#!/usr/bin/env bash
# lstm built from its sources inside an outside project (ctest: install.subproject):
#   tests/install/test_subproject.sh SOURCE_DIR
# The consumer (tests/install/consumer) pulls lstm in with FetchContent from a local path, builds
# it (Debug: the quickest build) and runs a small training; with add_subdirectory it is
# configured (the same CMake code runs for both) and must define lstm::lstm without lstm's tests.
set -euo pipefail
src=$(cd "$1" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
for how in add_subdirectory fetchcontent; do
  cmake -S "$src/tests/install/consumer" -B "$tmp/$how" -DLSTM_SOURCE="$src" -DHOW="$how" \
    -DCMAKE_BUILD_TYPE=Debug > "$tmp/$how.log" 2>&1 || { tail -30 "$tmp/$how.log"; fail "configuring with $how"; }
  echo "$how: configured"
done
cmake --build "$tmp/fetchcontent" -j "$(nproc)" --target consumer > "$tmp/build.log" 2>&1 \
  || { tail -50 "$tmp/build.log"; fail "building lstm through FetchContent"; }
"$tmp/fetchcontent/consumer" || fail "the consumer built through FetchContent"
