"""Merges the outputs of scripts/bench-compare.sh into the table of docs/performance.md.
usage: bench_table.py OUTDIR SUITE"""
import json
import os
import platform
import subprocess
import sys
import time

out, suite = sys.argv[1], sys.argv[2]


def anchor(path):
    rows = {}
    for line in open(path):
        parts = line.split()
        if len(parts) >= 3 and parts[2] in ("seq/s", "steps/s"):
            rows[parts[0]] = float(parts[1])
    return rows


def ceiling(path):  # oneDNN sgemm on the square 2048 problem: the practical roofline
    for line in open(path):
        if line.startswith("square 2048"):
            return float(line.split("onednn")[1].split()[0])
    raise SystemExit(f"no ceiling in {path}")


names = [l.split()[0] for l in open(suite) if l.strip() and not l.startswith(("#", "name"))]
ours, onednn, torch, ceil = {}, {}, {}, {}
for t in (1, 2):
    ours[t] = {json.loads(l)["name"]: json.loads(l) for l in open(f"{out}/lstm_{t}.jsonl")}
    onednn[t], torch[t], ceil[t] = anchor(f"{out}/onednn_{t}.txt"), anchor(f"{out}/torch_{t}.txt"), ceiling(f"{out}/sgemm_{t}.txt")

commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
print(f"Measured {time.strftime('%Y-%m-%d')} on {platform.node()} ({os.cpu_count()} cores), commit {commit}, "
      f"`scripts/bench-compare.sh`. GEMM ceiling (oneDNN sgemm, 2048³): {ceil[1]:.0f} GFLOP/s at 1 thread, "
      f"{ceil[2]:.0f} at 2.\n")
print("| row | lstm 1 thr | lstm 2 thr | oneDNN best | PyTorch best | × oneDNN | × PyTorch | lstm GFLOP/s (best) | % of ceiling | ns/step (1 thr) |")
print("|---|---|---|---|---|---|---|---|---|---|")
for n in names:
    r1, r2 = ours[1][n], ours[2][n]
    best = max((r1, r2), key=lambda r: r["throughput"])
    o = max(onednn[1].get(n, 0), onednn[2].get(n, 0))
    p = max(torch[1].get(n, 0), torch[2].get(n, 0))
    share = 100 * best["gflops"] / ceil[best["threads"]]
    print(f"| {n} | {r1['throughput']:,.1f} | {r2['throughput']:,.1f} | {o:,.1f} | {p:,.1f} | "
          f"{best['throughput'] / o:.2f} | {best['throughput'] / p:.2f} | {best['gflops']:.1f} | {share:.0f}% | "
          f"{r1['ns_per_step']:,.0f} |")
print("\nThroughput in sequences/s (stream rows: steps/s); best = the better of 1 and 2 threads, "
      "each side; × = lstm best / anchor best.")

# The layer set (bench/layers.tsv): each variant's cost against one direction of the same shape.
if os.path.exists(f"{out}/layers_1.jsonl"):
    layers = {t: [json.loads(l) for l in open(f"{out}/layers_{t}.jsonl")] for t in (1, 2)}
    print("\nThe layer set (`bench/layers.tsv`): cost = time per batch relative to `lstm` (one "
          "direction, all T steps) of the same shape and thread count; targets: bidirectional ≤ 2, "
          "padded and full_lengths ≤ 1.\n")
    print("| row | variant | seq/s 1 thr | seq/s 2 thr | cost 1 thr | cost 2 thr |")
    print("|---|---|---|---|---|---|")
    for k, r1 in enumerate(layers[1]):
        r2 = layers[2][k]
        shape = (r1["I"], r1["H"], r1["L"], r1["B"], r1["T"], r1["mode"])
        base = {t: next(r for r in layers[t] if r["variant"] == "lstm" and
                        (r["I"], r["H"], r["L"], r["B"], r["T"], r["mode"]) == shape) for t in (1, 2)}
        print(f"| {r1['name']} | {r1['variant']} | {r1['throughput']:,.1f} | {r2['throughput']:,.1f} | "
              f"{base[1]['throughput'] / r1['throughput']:.2f} | {base[2]['throughput'] / r2['throughput']:.2f} |")
