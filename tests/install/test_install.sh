#!/usr/bin/env bash
# The library installed as a user installs it, and used from outside (ctest: install.*):
#   tests/install/test_install.sh BUILD_DIR SOURCE_DIR
# 1. cmake --install BUILD_DIR --prefix a temporary folder; the installed CLI runs;
# 2. examples/ configured and built as an outside project against it (find_package(lstm 0.2));
#    quickstart runs;
# 3. examples/quickstart.cpp built with pkg-config's flags alone; it runs;
# 4. find_package(lstm 0.3) and find_package(lstm 1.0) are refused (the version check).
set -euo pipefail
build=$(cd "$1" && pwd) src=$(cd "$2" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix
fail() { echo "FAIL: $*" >&2; exit 1; }

cmake --install "$build" --prefix "$prefix" > "$tmp/install.log" || { cat "$tmp/install.log"; fail "cmake --install"; }
libdir=$(dirname "$(find "$prefix" -name 'liblstm.*' -print -quit)")
[ -n "$libdir" ] || fail "no liblstm installed under $prefix"
for f in include/lstm/lstm.h include/lstm/version.h bin/lstm share/doc/lstm/README.md share/lstm/scripts/torch_verify.py; do
  [ -e "$prefix/$f" ] || fail "$f not installed"
done
[ -f "$libdir/cmake/lstm/lstmConfig.cmake" ] || fail "no CMake package in $libdir/cmake/lstm"
[ -f "$libdir/pkgconfig/lstm.pc" ] || fail "no pkg-config file in $libdir/pkgconfig"
version=$(sed -n 's/^#define LSTM_VERSION_STRING "\(.*\)"/\1/p' "$prefix/include/lstm/version.h")
"$prefix/bin/lstm" --version | grep -qx "lstm $version" || fail "the installed CLI does not print 'lstm $version'"
if [ -e "$libdir/liblstm.so" ]; then  # the shared library: versioned, and found by the CLI beside it
  soname=$(objdump -p "$libdir/liblstm.so" | awk '$1 == "SONAME" { print $2 }')
  [ "$soname" = "liblstm.so.${version%.*}" ] || fail "soname $soname, expected liblstm.so.${version%.*}"
  loaded=$(ldd "$prefix/bin/lstm" | awk '$1 ~ /^liblstm/ { print $3 }')
  [ -n "$loaded" ] && [ "$(readlink -f "$loaded")" = "$(readlink -f "$libdir/liblstm.so")" ] \
    || fail "the installed CLI loads '$loaded', not $libdir's liblstm"
fi
echo "installed $version into $prefix: CLI, headers, library, CMake package, pkg-config file"

# find_package: the examples as an outside project
cmake -S "$src/examples" -B "$tmp/examples" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release > "$tmp/configure.log" \
  || { cat "$tmp/configure.log"; fail "configuring examples/ against the installed package"; }
cmake --build "$tmp/examples" -j "$(nproc)" > "$tmp/build.log" || { tail -50 "$tmp/build.log"; fail "building examples/"; }
(cd "$tmp" && "$tmp/examples/quickstart" > "$tmp/quickstart.log") || { tail -20 "$tmp/quickstart.log"; fail "quickstart (find_package)"; }
grep -q "saved and reloaded" "$tmp/quickstart.log" || fail "quickstart (find_package) did not finish"
echo "find_package(lstm $version): examples/ built as an outside project; quickstart ran"

# pkg-config
flags=$(PKG_CONFIG_PATH="$libdir/pkgconfig" pkg-config --cflags --libs lstm) || fail "pkg-config --cflags --libs lstm"
case "$flags" in *"$src"*|*"$build"*) fail "pkg-config's flags point into the source or build tree: $flags" ;; esac
# only lstm's own include directory: no private dependency's flags reach the consumer
[ "$(PKG_CONFIG_PATH="$libdir/pkgconfig" pkg-config --cflags lstm | wc -w)" = 1 ] \
  || fail "pkg-config --cflags lstm brings more than lstm's include directory: $(PKG_CONFIG_PATH="$libdir/pkgconfig" pkg-config --cflags lstm)"
# shellcheck disable=SC2086
c++ -std=c++20 -O1 "$src/examples/quickstart.cpp" $flags -Wl,-rpath,"$libdir" -o "$tmp/quickstart_pc" || fail "building quickstart with pkg-config's flags"
(cd "$tmp" && "$tmp/quickstart_pc" > "$tmp/quickstart_pc.log") || fail "quickstart (pkg-config)"
grep -q "saved and reloaded" "$tmp/quickstart_pc.log" || fail "quickstart (pkg-config) did not finish"
echo "pkg-config lstm: $flags; quickstart ran"

# the version check
for wanted in 0.3 1.0; do
  mkdir -p "$tmp/v$wanted"
  printf 'cmake_minimum_required(VERSION 3.21)\nproject(v LANGUAGES CXX)\nfind_package(lstm %s REQUIRED)\n' "$wanted" > "$tmp/v$wanted/CMakeLists.txt"
  if cmake -S "$tmp/v$wanted" -B "$tmp/v$wanted/build" -DCMAKE_PREFIX_PATH="$prefix" > "$tmp/v$wanted.log" 2>&1; then
    fail "find_package(lstm $wanted) accepted version $version"
  fi
  grep -q "$version" "$tmp/v$wanted.log" || fail "find_package(lstm $wanted)'s error does not name the installed version"
done
echo "find_package(lstm 0.3) and (lstm 1.0) refused"
