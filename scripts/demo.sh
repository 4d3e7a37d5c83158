#!/usr/bin/env bash
# The main job: installs what is missing, builds (Release, build/) and runs the seed's example:
# LSTM(50) -> Dense(1), Adam, MSE, 50 epochs of batch 32, on a generated series.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh build
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DLSTM_BUILD_TESTS=OFF >/dev/null
cmake --build build -j "$(nproc)"
cd build && ./bin/quickstart
