#!/usr/bin/env bash
# The three cells on their step kernels, side by side (issue 19, point 6): every shape of
# bench/layers.tsv that has lstm, gru and simple_rnn rows, at 1 and 2 threads, three rounds
# interleaved, best of three each; the table gives seq/s (stream rows: steps/s) and each cell's
# time per batch relative to the LSTM's at the same shape and thread count (goal: GRU <= 0.8).
# About 3 minutes; run on a quiet machine (check `uptime`). Raw outputs in build/bench-cells/.
#   scripts/bench-cells.sh
set -euo pipefail
cd "$(dirname "$0")/.."
out=build/bench-cells
mkdir -p "$out"
awk -F'\t' 'NR == 1 || $8 == "lstm" || $8 == "gru" || $8 == "simple_rnn"' bench/layers.tsv \
  | grep -v '^#' > "$out/cells.tsv"
uptime
for round in 1 2 3; do
  for t in 1 2; do
    build/bin/lstm bench --suite "$out/cells.tsv" --threads $t --seconds 0.3 --json > "$out/t${t}_r${round}.jsonl"
  done
done
/usr/bin/python3 - "$out" <<'PY'
import glob, json, sys
best = {}
for f in glob.glob(f"{sys.argv[1]}/t*_r*.jsonl"):
    for line in open(f):
        r = json.loads(line)
        k = ((r["I"], r["H"], r["B"], r["T"], r["mode"]), r["variant"], r["threads"])
        if k not in best or r["throughput"] > best[k]["throughput"]:
            best[k] = r
shapes = sorted({k[0] for k in best if k[1] == "gru"}, key=lambda s: (s[4], s[1]))
print("| shape (I, H, B, T, mode) | threads | lstm | gru | simple_rnn | gru / lstm time | simple_rnn / lstm time |")
print("|---|---|---|---|---|---|---|")
for s in shapes:
    for t in (1, 2):
        l, g, n = (best[(s, v, t)]["throughput"] for v in ("lstm", "gru", "simple_rnn"))
        print(f"| {s[0]}, {s[1]}, {s[2]}, {s[3]}, {s[4]} | {t} | {l:,.1f} | {g:,.1f} | {n:,.1f} | "
              f"{l / g:.2f} | {l / n:.2f} |")
PY
