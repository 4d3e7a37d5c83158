#!/usr/bin/env bash
# The comparison run (docs/performance.md): builds the anchors in ../shared/bench/anchors
# (oneDNN's LSTM primitive, its best case; PyTorch 1.13's nn.LSTM; the sgemm ceiling) and this
# project, runs all of them back to back on every row of ../shared/bench/suite.tsv at 1 and 2
# threads, and prints one table with the ratios; then the project's layer rows
# (bench/layers.tsv: bidirectional and padded batches against one direction) and their table;
# then the use-case rows (scripts/bench-fit.sh). Takes about 18 minutes. Raw outputs and the
# tables go to build/bench/.
#   scripts/bench-compare.sh [seconds-per-window]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-0.5}
shared=${LSTM_SHARED:-../shared}
suite=$shared/bench/suite.tsv
anchors=$shared/bench/anchors
[ -f "$suite" ] || { echo "no benchmark suite at $suite (set LSTM_SHARED)" >&2; exit 1; }
scripts/install-deps.sh bench
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$(nproc)" --target lstm_cli
out=build/bench
mkdir -p "$out"
g++ -O2 -std=c++17 "$anchors/onednn_lstm_bench.cpp" -o "$out/onednn_lstm_bench" -ldnnl
g++ -O2 -std=c++17 "$anchors/sgemm_peak.cpp" -o "$out/sgemm_peak" -lopenblas -ldnnl
for t in 1 2; do
  echo "== $t thread(s): GEMM ceiling" >&2
  OMP_NUM_THREADS=$t OPENBLAS_NUM_THREADS=$t "$out/sgemm_peak" > "$out/sgemm_$t.txt"
  echo "== $t thread(s): oneDNN" >&2
  OMP_NUM_THREADS=$t "$out/onednn_lstm_bench" "$suite" > "$out/onednn_$t.txt"
  echo "== $t thread(s): PyTorch" >&2
  /usr/bin/python3 "$anchors/torch_lstm_bench.py" "$t" > "$out/torch_$t.txt"
  echo "== $t thread(s): lstm" >&2
  build/bin/lstm bench --suite "$suite" --threads "$t" --seconds "$seconds" --json > "$out/lstm_$t.jsonl"
  echo "== $t thread(s): lstm, the layer set (bench/layers.tsv)" >&2
  build/bin/lstm bench --suite bench/layers.tsv --threads "$t" --seconds "$seconds" --json > "$out/layers_$t.jsonl"
done
/usr/bin/python3 scripts/bench_table.py "$out" "$suite" | tee "$out/table.md"
scripts/bench-fit.sh "$seconds"  # the use-case rows: whole training steps against PyTorch
