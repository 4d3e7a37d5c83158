#!/usr/bin/env bash
# Before/after on one machine in one run: the standard suite rows and a whole training run,
# for a baseline binary (A, e.g. a build of the commit before a change) and this tree's
# build/bin/lstm (B), interleaved, two rounds of the suite at 1 and 2 threads and three
# training runs each. Raw outputs in build/bench-ab/.
#   scripts/bench-ab.sh BASELINE_LSTM_BINARY
set -euo pipefail
cd "$(dirname "$0")/.."
A=${1:?usage: scripts/bench-ab.sh BASELINE_LSTM_BINARY}
B=build/bin/lstm
S=${LSTM_SHARED:-../shared}/bench/suite.tsv
out=build/bench-ab
mkdir -p "$out"
uptime
for round in 1 2; do
  for t in 1 2; do
    "$A" bench --suite "$S" --threads $t --seconds 0.5 --json > "$out/A_t${t}_r${round}.jsonl"
    "$B" bench --suite "$S" --threads $t --seconds 0.5 --json > "$out/B_t${t}_r${round}.jsonl"
  done
done
for round in 1 2 3; do
  for who in A B; do
    bin=$A; [ $who = B ] && bin=$B
    start=$(date +%s.%N)
    "$bin" train --csv data/seattle-weather.csv --target temp_max \
      --features temp_max,temp_min,precipitation,wind --lookback 30 --epochs 8 --quiet \
      --out "$out/w_$who.safetensors" --threads 2 >/dev/null
    echo "train $who round $round: $(echo "$(date +%s.%N) - $start" | bc) s" | tee -a "$out/train.txt"
  done
done
uptime
/usr/bin/python3 - "$out" <<'PY'
import collections, json, statistics, sys
d = sys.argv[1]
rows = collections.OrderedDict()
for who in "AB":
    for t in (1, 2):
        for r in (1, 2):
            for line in open(f"{d}/{who}_t{t}_r{r}.jsonl"):
                j = json.loads(line)
                rows.setdefault((j["name"], t), {"A": [], "B": []})[who].append(j["throughput"])
print("| row | threads | before (best of 2) | after (best of 2) | after / before |\n|---|---|---|---|---|")
ratios = []
for (name, t), v in rows.items():
    a, b = max(v["A"]), max(v["B"])
    ratios.append(b / a)
    print(f"| {name} | {t} | {a:,.1f} | {b:,.1f} | {b / a:.3f} |")
print(f"\ngeometric mean after/before: {statistics.geometric_mean(ratios):.3f}; "
      f"range {min(ratios):.3f}-{max(ratios):.3f}")
PY
