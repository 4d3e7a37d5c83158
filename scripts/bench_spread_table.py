#!/usr/bin/env python3
# The table of scripts/bench-spread.sh from its raw outputs in DIR (spread_onednn_{1,2}.txt,
# spread_lstm_{1,2}.jsonl): lstm / oneDNN per shape and thread count, then the spread.
#   /usr/bin/python3 scripts/bench_spread_table.py build/bench
import json, statistics, sys
out = sys.argv[1]
ratio = {}
order = []
for t in (1, 2):
    onednn = {}
    for line in open(f"{out}/spread_onednn_{t}.txt"):
        parts = line.split()
        if len(parts) >= 3:
            onednn[parts[0]] = float(parts[1])
    for line in open(f"{out}/spread_lstm_{t}.jsonl"):
        r = json.loads(line)
        if r["name"] not in order:
            order.append(r["name"])
        ratio[(r["name"], t)] = (r["throughput"], onednn[r["name"]], r)
print("| shape | I | H | B | T | mode | lstm / oneDNN 1 thr | lstm / oneDNN 2 thr |")
print("|---|---|---|---|---|---|---|---|")
for name in order:
    r = ratio[(name, 1)][2]
    cells = [f"{ratio[(name, t)][0] / ratio[(name, t)][1]:.2f}" for t in (1, 2)]
    print(f"| {name} | {r['I']} | {r['H']} | {r['B']} | {r['T']} | {r['mode']} | " + " | ".join(cells) + " |")
print()
print("| threads | shapes | lowest | median | highest | shapes below 1.0 |")
print("|---|---|---|---|---|---|")
for t in (1, 2):
    v = sorted((ratio[(n, t)][0] / ratio[(n, t)][1], n) for n in order)
    below = sum(1 for x, _ in v if x < 1.0)
    below_095 = sum(1 for x, _ in v if x < 0.95)
    print(f"| {t} | {len(v)} | {v[0][0]:.2f} ({v[0][1]}) | {statistics.median(x for x, _ in v):.2f} | "
          f"{v[-1][0]:.2f} ({v[-1][1]}) | {below} ({below_095} below 0.95) |")
