"""The table of the use-case rows from the outputs of scripts/bench-fit.sh.
usage: bench_fit_table.py OUTDIR"""
import glob
import json
import os
import subprocess
import sys
import time

out = sys.argv[1]


def rows(path):
    return {d["name"]: d for d in (json.loads(l) for l in open(path) if l.strip())}


def best_of(pattern):  # name -> (throughput, file), the best over the files matching pattern
    best = {}
    for path in sorted(glob.glob(f"{out}/{pattern}")):
        for name, d in rows(path).items():
            if name not in best or d["throughput"] > best[name][0]:
                best[name] = (d["throughput"], os.path.basename(path))
    return best


ours = {t: best_of(f"fit_lstm_{t}_r*.jsonl") for t in (1, 2)}
torch_one = best_of("fit_torch_1_blas1_r*.jsonl")  # one thread in all
torch_best = best_of("fit_torch_*_blas*_r*.jsonl")
commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
print(f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} ({os.cpu_count()} cores), commit {commit}, "
      "`scripts/bench-fit.sh`. Sequences/s. PyTorch best: the best of torch threads 1 or 2 each with "
      "OpenBLAS threads 1 or 2 (which, as torch+OpenBLAS threads); × = lstm best / PyTorch best.\n")
print("| row | lstm 1 thr | lstm 2 thr | PyTorch 1 thr | PyTorch best | × PyTorch (best) | × PyTorch (1 thr) |")
print("|---|---|---|---|---|---|---|")
for name in [n for n in ours[1] if not n.endswith("-lstm")]:
    a1, a2 = ours[1][name][0], ours[2][name][0]
    p1, (pb, where) = torch_one[name][0], torch_best[name]
    how = where[len("fit_torch_"):].split("_r")[0].replace("_blas", "+")  # torch threads + OpenBLAS threads
    print(f"| {name} | {a1:,.0f} | {a2:,.0f} | {p1:,.0f} | {pb:,.0f} ({how}) | {max(a1, a2) / pb:.2f} | {a1 / p1:.2f} |")

# The whole step against the LSTM's work alone in it (the "-lstm" rows): how much longer the
# step takes (1.00 = nothing but the LSTM; the goal: at most 1.10 on charlm and sentiment)
print("\n| use case | whole step 1 thr | LSTM work 1 thr | step / LSTM (1 thr) | whole step 2 thr | LSTM work 2 thr | step / LSTM (2 thr) |")
print("|---|---|---|---|---|---|---|")
for name in [n for n in ours[1] if n.endswith("-lstm")]:
    case = name[:-len("-lstm")]
    cells = []
    for t in (1, 2):
        step, lstm = ours[t][case + "-train"][0], ours[t][name][0]
        cells += [f"{step:,.0f}", f"{lstm:,.0f}", f"{lstm / step:.2f}"]
    print(f"| {case} | " + " | ".join(cells) + " |")
