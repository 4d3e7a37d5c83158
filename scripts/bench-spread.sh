#!/usr/bin/env bash
# The spread against oneDNN over shapes near the suite's (docs/performance.md, "Shapes near the
# suite"): for each of six suite rows, the row itself and the row with one of I, H, B, T halved
# or doubled (nine shapes a row), oneDNN's LSTM primitive (../shared/bench/anchors, its best
# case) and `lstm bench` back to back at 1 and 2 threads, then a table of lstm / oneDNN per
# shape and the spread (lowest, median, highest) per thread count. About 20 minutes on the
# 2-core machine; run it on a quiet one. Raw outputs in build/bench/spread_*.
#   scripts/bench-spread.sh [seconds-per-window]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-0.5}
shared=${LSTM_SHARED:-../shared}
suite=$shared/bench/suite.tsv
anchors=$shared/bench/anchors
[ -f "$suite" ] || { echo "no benchmark suite at $suite (set LSTM_SHARED)" >&2; exit 1; }
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$(nproc)" --target lstm_cli
out=build/bench
mkdir -p "$out"
g++ -O2 -std=c++17 "$anchors/onednn_lstm_bench.cpp" -o "$out/onednn_lstm_bench" -ldnnl
rows="ts-keras50-train ts-keras50-infer imdb-h100-train db-char256-train db-mt512-b4-infer charrnn-512x2-train"
shapes=$out/spread_suite.tsv
awk -v rows="$rows" 'BEGIN { n = split(rows, r, " "); for (k = 1; k <= n; ++k) want[r[k]] = 1 }
  /^#/ || /^name/ { next }
  ($1 in want) {
    print $1 "\t" $2 "\t" $3 "\t" $4 "\t" $5 "\t" $6 "\t" $7
    split("I H B T", dim, " "); col["I"] = 2; col["H"] = 3; col["B"] = 5; col["T"] = 6
    for (d = 1; d <= 4; ++d)
      for (f = 0; f < 2; ++f) {
        c = col[dim[d]]; v = f ? $c * 2 : int($c / 2); if (v < 1) continue
        line = $1 "~" dim[d] (f ? "x2" : "/2")
        for (k = 2; k <= 7; ++k) line = line "\t" (k == c ? v : $k)
        print line
      }
  }' "$suite" > "$shapes"
echo "$(wc -l < "$shapes") shapes" >&2
for t in 1 2; do
  echo "== $t thread(s): oneDNN" >&2
  OMP_NUM_THREADS=$t "$out/onednn_lstm_bench" "$shapes" > "$out/spread_onednn_$t.txt"
  echo "== $t thread(s): lstm" >&2
  build/bin/lstm bench --suite "$shapes" --threads "$t" --seconds "$seconds" --json > "$out/spread_lstm_$t.jsonl"
done
/usr/bin/python3 scripts/bench_spread_table.py "$out" | tee "$out/spread_table.md"
