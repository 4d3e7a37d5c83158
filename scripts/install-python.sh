#!/usr/bin/env bash
# Builds the Python module and installs it, as a wheel, into a Python:
#   scripts/install-python.sh                  Debian's /usr/bin/python3 (as root or with sudo:
#                                              /usr/local/lib/python3.11/dist-packages)
#   scripts/install-python.sh venv/bin/python  a virtual environment, made with
#                                              python3 -m venv --system-site-packages venv
#                                              (NumPy, and PyTorch if wanted, come from Debian)
# The wheel is left in build/dist/ (lstm-<version>-cp311-cp311-linux_x86_64.whl): pip can
# install it on machines like this one without building. Everything is offline: Debian's
# pybind11, setuptools, wheel and pip. LSTM_BUILD_DIR picks the build directory (default build).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
python=${1:-/usr/bin/python3}
build=${LSTM_BUILD_DIR:-$root/build}
"$root/scripts/install-deps.sh" python
# the interpreter the module is built for: the base of a venv (its headers and ABI)
base=$("$python" -c 'import sys; print(sys.base_prefix + "/bin/python3" if sys.prefix != sys.base_prefix else sys.executable)')
if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DPython_EXECUTABLE="$base" >/dev/null
fi
cmake --build "$build" --target lstm_python -j "$(nproc)"
if [ ! -f "$build/python/lstm/__init__.py" ]; then
  echo "install-python: $build was configured without the Python module; reconfigure it with -DLSTM_PYTHON=ON" >&2
  exit 1
fi
dist="$build/dist"
rm -rf "$dist" "$build/python/build" "$build/python/lstm.egg-info"
"$python" -m pip wheel --no-build-isolation --no-deps --no-index --quiet -w "$dist" "$build/python"
rm -rf "$build/python/build" "$build/python/lstm.egg-info"
wheel=$(ls "$dist"/lstm-*.whl)
# Debian marks its own Python as externally managed (PEP 668): pip then installs into
# /usr/local/lib/python3.X/dist-packages only when told that this is meant.
flags=()
if "$python" -c 'import sys, sysconfig, os; sys.exit(0 if sys.prefix == sys.base_prefix and os.path.exists(os.path.join(sysconfig.get_path("stdlib"), "EXTERNALLY-MANAGED")) else 1)'; then
  flags+=(--break-system-packages)
fi
"$python" -m pip install --no-deps --no-index --force-reinstall --quiet --root-user-action=ignore \
  "${flags[@]}" "$wheel"
where=$(cd / && env -u PYTHONPATH "$python" -c 'import lstm, os; print(os.path.dirname(lstm.__file__))')
echo "installed $(basename "$wheel") in $where (import lstm)"
