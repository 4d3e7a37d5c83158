#!/usr/bin/env python3
"""The speed issue's targets (docs/performance.md, "Issue 19's targets") against one run of
scripts/bench-targets.sh: reads the raw outputs and tables that run left in DIR and prints one
row per target with what was measured and whether it is met.
usage: /usr/bin/python3 scripts/bench_targets_table.py build/bench"""
import json
import os
import statistics
import subprocess
import sys
import time

out = sys.argv[1]


def tables(path):
    """The Markdown tables of a file: a list of (header, rows), each row a list of cells."""
    found, header, rows = [], None, []
    for line in open(path):
        line = line.strip()
        if not line.startswith("|"):
            if header:
                found.append((header, rows))
            header, rows = None, []
            continue
        cells = [c.strip() for c in line.strip("|").split("|")]
        if header is None:
            header = cells
        elif not all(set(c) <= set("-: ") for c in cells):
            rows.append(cells)
    if header:
        found.append((header, rows))
    return found


def number(cell):
    return float(cell.replace(",", "").replace("*", "").split()[0])


def table_with(path, column):
    for header, rows in tables(path):
        if column in header:
            return [dict(zip(header, r)) for r in rows]
    raise SystemExit(f"no table with a column '{column}' in {path}")


def anchor(path):
    rows = {}
    for line in open(path):
        parts = line.split()
        if len(parts) >= 3 and parts[2] in ("seq/s", "steps/s"):
            rows[parts[0]] = float(parts[1])
    return rows


results = []  # (point, target, measured, met)


def target(point, what, measured, met):
    results.append((point, what, measured, "met" if met else "**not met**"))


def worst(pairs, fmt="{:.2f}"):
    v, name = min(pairs)
    return fmt.format(v) + f" ({name})"


# 2. the whole step: within 10% of the LSTM work (char LM, sentiment); 5x PyTorch on every row
fit = os.path.join(out, "fit_table.md")
steps = table_with(fit, "step / LSTM (1 thr)")
for use in ("fit-charlm", "fit-sentiment"):
    row = next(r for r in steps if r["use case"] == use)
    a, b = number(row["step / LSTM (1 thr)"]), number(row["step / LSTM (2 thr)"])
    target("2", f"{use}: whole step <= 1.10x the LSTM work", f"{a:.2f} / {b:.2f} (1 / 2 thr)", max(a, b) <= 1.10)
rows = table_with(fit, "× PyTorch (best)")
x = [(number(r["× PyTorch (best)"]), r["row"]) for r in rows]
below = sum(1 for v, _ in x if v < 5.0)
target("2", ">= 5x PyTorch on every use-case row (best threads each)",
       f"lowest {worst(x)}; {len(x) - below} of {len(x)} rows at 5x or more", below == 0)

# 3. never slower with more threads beside a load; still scales when quiet
busy = table_with(os.path.join(out, "busy_table.md"), "default / 1 thread")
loaded = [(number(r["default / 1 thread"]), f"{r['job']}, {r['load']}") for r in busy if r["load"] != "quiet"]
quiet = [(number(r["default / 1 thread"]), r["job"]) for r in busy if r["load"] == "quiet"]
target("3", "beside a load: default threads <= 1.10x one thread's time",
       f"highest {max(loaded)[0]:.2f} ({max(loaded)[1]})", max(loaded)[0] <= 1.10)
target("3", "quiet: default threads faster than one", f"highest {max(quiet)[0]:.2f} ({max(quiet)[1]})",
       max(quiet)[0] < 1.0)
same = all(r["result as quiet"] == "yes" for r in busy)
target("3", "every default-threads run prints the quiet run's result", "yes" if same else "no", same)

# 4. low precision on the weight-bandwidth-bound rows; 5. streaming latency
precision = table_with(os.path.join(out, "precision_table.md"), "bf16 / fp32")
bound_rows = ("db-mt512-b4-infer", "db-lm1536-b1-infer", "stream-h128")
for col, goal in (("bf16 / fp32", 1.7), ("int8 / fp32", 3.0)):
    x = [(number(r[col]), f"{r['row']}, {r['threads']} thr") for r in precision if r["row"] in bound_rows]
    met = sum(1 for v, _ in x if v >= goal)
    target("4", f"{col.split()[0]} >= {goal}x fp32 on {', '.join(bound_rows)}",
           f"lowest {worst(x)}; {met} of {len(x)} cells met", met == len(x))
for name, goal in (("stream-h8", 50), ("stream-h32", 150), ("stream-h128", 2000)):
    row = next(r for r in precision if r["row"] == name and r["threads"] == "1")
    ns = dict(zip(("fp32", "bf16", "int8"), (number(v) for v in row["ns/step fp32, bf16, int8 (stream)"].split(", "))))
    p = min(ns, key=ns.get)
    target("5", f"{name} <= {goal:,} ns a step at 1 thread", f"{ns[p]:,.0f} ns ({p}; fp32 {ns['fp32']:,.0f})",
           ns[p] <= goal)

# 6. GRU at most 0.8x an LSTM's time of the same size
cells = table_with(os.path.join(out, "cells_table.md"), "gru / lstm time")
x = [(number(r["gru / lstm time"]), f"{r['shape (I, H, B, T, mode)']}, {r['threads']} thr") for r in cells]
hi = max(x)
target("6", "GRU time <= 0.8x the LSTM's, 1 and 2 threads", f"highest {hi[0]:.2f} ({hi[1]}); lowest {min(x)[0]:.2f}",
       hi[0] <= 0.8)

# 7. at least oneDNN on every suite row and on the shapes near it, at 1 and at 2 threads
names = [l.split()[0] for l in open(os.path.join(out, "suite_names.txt"))]
for t in (1, 2):
    ours = {json.loads(l)["name"]: json.loads(l)["throughput"] for l in open(f"{out}/lstm_{t}.jsonl")}
    onednn = anchor(f"{out}/onednn_{t}.txt")
    x = [(ours[n] / onednn[n], n) for n in names if n in ours and n in onednn]
    below = sum(1 for v, _ in x if v < 1.0)
    target("7", f">= 1.0x oneDNN on every suite row, {t} thread{'s' if t > 1 else ''}",
           f"lowest {worst(x)}; median {statistics.median(v for v, _ in x):.2f}; {len(x) - below} of {len(x)} rows met",
           below == 0)
spread = table_with(os.path.join(out, "spread_table.md"), "lowest")
for r in spread:
    t = r["threads"]
    target("7", f">= 1.0x oneDNN on the {r['shapes']} shapes near the suite, {t} thread{'s' if t != '1' else ''}",
           f"lowest {r['lowest']}; median {r['median']}; below 1.0: {r['shapes below 1.0']}",
           r["shapes below 1.0"].startswith("0 "))

commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
print(f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} ({os.cpu_count()} cores), commit {commit}, "
      "`scripts/bench-targets.sh`: every figure from this one run.\n")
print("| point | target | measured | status |")
print("|---|---|---|---|")
for point, what, measured, status in results:
    print(f"| {point} | {what} | {measured} | {status} |")
met = sum(1 for r in results if r[3] == "met")
print(f"\n{met} of {len(results)} targets met.")
