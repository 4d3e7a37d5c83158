#!/usr/bin/env bash
# The use-case rows (docs/performance.md, "Use-case rows"): whole training steps and predict
# calls of the jobs' models (`lstm bench --fit`) and the same models in PyTorch 1.13
# (scripts/bench_fit_torch.py), back to back at 1 and 2 threads, then one table. PyTorch is
# timed with OpenBLAS (installed here), whose threads are its own (OPENBLAS_NUM_THREADS, not
# torch.set_num_threads): it runs with 1 and 2 torch threads, each with OpenBLAS on 1 and on 2
# threads, and its best per row is kept (on 2 cores the two pools contend; a single torch
# thread with two OpenBLAS threads is often its best). Part of scripts/bench-compare.sh; alone
# about 12 minutes (two interleaved rounds, the better of each kept, and a 20 s pause
# before each run). Raw outputs and the table in build/bench/.
#   scripts/bench-fit.sh [seconds-per-window]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-0.5}
scripts/install-deps.sh bench
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$(nproc)" --target lstm_cli
out=build/bench
mkdir -p "$out"
rm -f "$out"/fit_lstm_*.jsonl "$out"/fit_torch_*.jsonl
# After a PyTorch run this machine ran 2 threads at about 55% speed for some seconds (our
# forecaster row: 26,000 seq/s right after, 47,700 twenty seconds later): every run waits first.
cooldown=${COOLDOWN:-20}
for round in 1 2; do  # two interleaved rounds, the better kept
  for t in 1 2; do
    echo "== round $round, $t thread(s): use-case rows, lstm" >&2
    sleep "$cooldown"
    build/bin/lstm bench --fit --threads "$t" --seconds "$seconds" --json > "$out/fit_lstm_${t}_r$round.jsonl"
    echo "== round $round, $t thread(s): use-case rows, PyTorch" >&2
    for blas in 1 2; do
      sleep "$cooldown"
      OPENBLAS_NUM_THREADS=$blas /usr/bin/python3 scripts/bench_fit_torch.py "$t" "$seconds" \
        > "$out/fit_torch_${t}_blas${blas}_r$round.jsonl"
    done
  done
done
/usr/bin/python3 scripts/bench_fit_table.py "$out" | tee "$out/fit_table.md"
