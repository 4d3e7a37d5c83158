#!/usr/bin/env bash
# Accuracy of low-precision inference on trained models (docs/performance.md, "int8 inference"):
# trains the three use-case models once with the README's commands (the Seattle forecaster, the
# sentiment classifier, the State of the Union character LM), then evaluates each in fp32, bf16
# and int8 and prints one table: the metric in each precision and the largest output difference
# from fp32. About 10 minutes on 2 cores (the char LM's epoch is most of it). Outputs in
# build/precision-accuracy/.
#   scripts/precision-accuracy.sh
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$(nproc)" --target lstm_cli
out=build/precision-accuracy
mkdir -p "$out"
lstm=build/bin/lstm
precisions="fp32 bf16 int8"

echo "== forecaster" >&2
$lstm train --csv data/seattle-weather.csv --target temp_max --out "$out/weather.safetensors" --quiet
for p in $precisions; do
  $lstm evaluate --model "$out/weather.safetensors" --csv data/seattle-weather.csv --precision "$p" \
    --json --predictions "$out/weather_$p.csv" > "$out/weather_$p.json"
done

echo "== sentiment" >&2
$lstm classify train --data data/text/sentiment.tsv --text-column text --label-column label \
  --out "$out/sentiment.safetensors" --epochs 5 > "$out/sentiment_train.txt"
for p in $precisions; do
  $lstm classify predict --model "$out/sentiment.safetensors" --data data/text/sentiment.tsv \
    --precision "$p" --out "$out/sentiment_$p.csv"
done

echo "== char LM (one epoch: several minutes)" >&2
$lstm text train --text data/text/sotu-1989-2021.txt --out "$out/sotu.safetensors" --units 256 \
  --lookback 100 --epochs 1 > "$out/sotu_train.txt"
tail -c 116800 data/text/sotu-1989-2021.txt > "$out/heldout.txt"  # the last tenth: held out in training
for p in $precisions; do
  $lstm text score --model "$out/sotu.safetensors" --text "$out/heldout.txt" --precision "$p" > "$out/sotu_$p.txt"
done

/usr/bin/python3 - "$out" <<'EOF' | tee "$out/table.md"
import csv, json, re, sys
out = sys.argv[1]
P = ("fp32", "bf16", "int8")
print("| model | metric | fp32 | bf16 | int8 | largest difference from fp32: bf16, int8 |")
print("|---|---|---|---|---|---|")
# forecaster: test RMSE, and each test prediction
rmse = {p: json.load(open(f"{out}/weather_{p}.json")) for p in P}
pred = {p: [float(r["predicted"]) for r in csv.DictReader(open(f"{out}/weather_{p}.csv"))] for p in P}
d = [max(abs(a - b) for a, b in zip(pred[p], pred["fp32"])) for p in ("bf16", "int8")]
print(f"| forecaster, Seattle temp_max | test RMSE (°C) | " + " | ".join(f"{rmse[p]['model']['rmse']:.5f}" for p in P) +
      f" | {d[0]:.4f}, {d[1]:.4f} °C over {len(pred['fp32'])} predictions |")
# sentiment: accuracy over every text, and p of each class
# one text a line, quotes as text (as lstm reads a .tsv)
labels = [r["label"] for r in csv.DictReader(open("data/text/sentiment.tsv"), delimiter="\t", quoting=csv.QUOTE_NONE)]
assert len(labels) == len(open(f"{out}/sentiment_fp32.csv").readlines()) - 1, "texts and predictions differ in number"
rows = {p: list(csv.DictReader(open(f"{out}/sentiment_{p}.csv"))) for p in P}
acc = {p: sum(r["label"] == l for r, l in zip(rows[p], labels)) / len(labels) for p in P}
prob_cols = [c for c in rows["fp32"][0] if c != "label"]
def pdiff(p):
    return max(abs(float(a[c]) - float(b[c])) for a, b in zip(rows[p], rows["fp32"]) for c in prob_cols)
same = {p: sum(a["label"] == b["label"] for a, b in zip(rows[p], rows["fp32"])) for p in ("bf16", "int8")}
print(f"| sentiment, UCI sentences | accuracy over all {len(labels):,} texts | " +
      " | ".join(f"{acc[p]:.4f}" for p in P) +
      f" | p {pdiff('bf16'):.4f}, {pdiff('int8'):.4f}; labels equal to fp32's: {same['bf16']:,}, {same['int8']:,} |")
# char LM: bits per character on the held-out text
def bpc(p):
    t = open(f"{out}/sotu_{p}.txt").read()
    m = re.search(r"([0-9.]+)\s*bits per char", t) or re.search(r"bits[^0-9]*([0-9.]+)", t)
    return float(m.group(1))
b = {p: bpc(p) for p in P}
print(f"| char LM, SOTU | bits per character, held-out last 116,800 characters | " +
      " | ".join(f"{b[p]:.4f}" for p in P) + f" | {abs(b['bf16'] - b['fp32']):.4f}, {abs(b['int8'] - b['fp32']):.4f} bits |")
EOF
