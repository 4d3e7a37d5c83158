#!/usr/bin/env bash
# The documented install into a virtual environment (python -m venv --system-site-packages):
# scripts/install-python.sh VENV/bin/python builds the wheel and installs it there; the module
# then imports from anywhere, with its own liblstm, and runs the seed's example.
#   test_install_venv.sh BUILD_DIR PYTHON
set -euo pipefail
build=$1
python=${2:-/usr/bin/python3}
root=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$python" -m venv --system-site-packages "$tmp/venv"
LSTM_BUILD_DIR="$build" "$root/scripts/install-python.sh" "$tmp/venv/bin/python"
ls "$tmp"/venv/lib/python3*/site-packages/lstm/_lstm*.so >/dev/null
cd "$tmp"
"$tmp/venv/bin/python" - <<'PY'
import numpy as np, lstm, os
assert "site-packages" in lstm.__file__ and "venv" in lstm.__file__, lstm.__file__
from lstm.models import Sequential
from lstm.layers import LSTM, Dense
X = np.random.default_rng(0).standard_normal((64, 10, 1)).astype(np.float32)
model = Sequential()
model.add(LSTM(50, input_shape=(10, 1)))
model.add(Dense(1))
model.compile(optimizer='adam', loss='mean_squared_error')
model.fit(X, X.mean(axis=1), epochs=2, batch_size=32, verbose=0)
# its own liblstm, next to the module ($ORIGIN), not the build tree's
libs = {line.split()[-1] for line in open("/proc/self/maps") if "liblstm.so" in line}
assert libs and all(os.path.dirname(lstm.__file__) in lib for lib in libs), libs
print("installed lstm", lstm.__version__, "runs from", os.path.dirname(lstm.__file__))
PY
"$tmp/venv/bin/python" -m pip show lstm > "$tmp/show"
grep -q "^Version: " "$tmp/show"
echo "ok: the wheel installed into a virtual environment and ran"
