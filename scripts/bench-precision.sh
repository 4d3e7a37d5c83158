#!/usr/bin/env bash
# Low-precision inference against fp32 (docs/performance.md, "bfloat16 inference", "int8
# inference"): the suite's inference and streaming rows with `lstm bench --precision fp32`, bf16
# and int8, at 1 and 2 threads, interleaved, two rounds (the better of each kept), then one table
# of throughput and the bf16 / fp32 and int8 / fp32 ratios. About 5 minutes. Raw outputs in
# build/bench/.
#   scripts/bench-precision.sh [seconds-per-window]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-0.5}
suite=${LSTM_SHARED:-../shared}/bench/suite.tsv
[ -f "$suite" ] || { echo "no benchmark suite at $suite (set LSTM_SHARED)" >&2; exit 1; }
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$(nproc)" --target lstm_cli
out=build/bench
mkdir -p "$out"
rm -f "$out"/precision_*.jsonl
for round in 1 2; do
  for t in 1 2; do
    for p in fp32 bf16 int8; do
      echo "== round $round, $t thread(s), $p" >&2
      build/bin/lstm bench --suite "$suite" --threads "$t" --precision "$p" --seconds "$seconds" --json |
        grep -v '"mode":"train"' >> "$out/precision_${p}_${t}.jsonl"
    done
  done
done
/usr/bin/python3 - "$out" <<'EOF' | tee "$out/precision_table.md"
import json, sys, glob, os
out = sys.argv[1]
best = {}  # (name, precision, threads) -> throughput
order = []
for path in sorted(glob.glob(os.path.join(out, "precision_*.jsonl"))):
    for line in open(path):
        r = json.loads(line)
        key = (r["name"], r["precision"], r["threads"])
        if r["name"] not in order:
            order.append(r["name"])
        best[key] = max(best.get(key, 0.0), r["throughput"])
print("| row | threads | fp32 | bf16 | int8 | bf16 / fp32 | int8 / fp32 | ns/step fp32, bf16, int8 (stream) |")
print("|---|---|---|---|---|---|---|---|")
for name in order:
    for t in (1, 2):
        a, b, c = (best.get((name, p, t)) for p in ("fp32", "bf16", "int8"))
        per = ", ".join(f"{1e9 / v:,.0f}" for v in (a, b, c)) if name.startswith("stream-") else ""
        print(f"| {name} | {t} | {a:,.1f} | {b:,.1f} | {c:,.1f} | {b / a:.2f} | {c / a:.2f} | {per} |")
EOF
