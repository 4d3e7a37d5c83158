#!/usr/bin/env bash
# Data-parallel training on this machine: the same lstm train run as 1 rank x 1 thread,
# 1 rank x 2 threads and 2 ranks x 1 thread (mpirun on loopback), for a compute-bound model
# (LSTM(256) on 64 features, T = 50, global batch 64, 4 epochs) and a small one (LSTM(32), the
# seed's size, 20 epochs, where each batch is short and the all-reduce's latency shows). Prints
# the median wall time of 3 runs per mode and the speed-up over 1 x 1, and what starting the
# processes costs (lstm --version alone and under mpirun -np 2), which the wall times include.
# Run it on a quiet machine (uptime).
#   scripts/bench-mpi.sh [build]      (docs/scaling.md has its figures)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
lstm=$build/bin/lstm
mpirun=$(command -v mpirun)
flags=(--oversubscribe --bind-to none)
[ "$(id -u)" -eq 0 ] && flags+=(--allow-run-as-root)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
/usr/bin/python3 - "$work" <<'PY'
import json, sys
import numpy as np
work = sys.argv[1]
rng = np.random.default_rng(0)
for name, n, t, f, h in (("big", 2048, 50, 64, 256), ("small", 4096, 30, 1, 32)):
    x = rng.standard_normal((n, t, f)).astype(np.float32)
    np.save(f"{work}/{name}-x.npy", x)
    np.save(f"{work}/{name}-y.npy", x[:, :, :1].mean(axis=1))
    cfg = {"input_shape": [t, f], "layers": [{"type": "lstm", "units": h}, {"type": "dense", "units": 1}]}
    json.dump(cfg, open(f"{work}/{name}.json", "w"))
PY
echo "$(date -u +%FT%TZ) commit $(git -C "$root" rev-parse --short HEAD), $(nproc) cores, load: $(cut -d' ' -f1-3 /proc/loadavg)"
printf "%-6s %-16s %9s %9s\n" model mode seconds speedup
for mode in launch1 launch2; do
  times=()
  for rep in 1 2 3; do
    start=$(date +%s.%N)
    case $mode in
      launch1) "$lstm" --version >/dev/null ;;
      launch2) "$mpirun" -np 2 "${flags[@]}" "$lstm" --version >/dev/null ;;
    esac
    times+=("$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.3f", b - a }')")
  done
  printf "%-6s %-16s %9.2f\n" start "$([ $mode = launch1 ] && echo "1 process" || echo "mpirun -np 2")" \
    "$(printf "%s\n" "${times[@]}" | sort -g | sed -n 2p)"
done
for name in big small; do
  epochs=4
  [ "$name" = small ] && epochs=20
  args=(train --x "$work/$name-x.npy" --y "$work/$name-y.npy" --config "$work/$name.json" --epochs $epochs
        --batch-size 64 --quiet --out "$work/m.safetensors")
  base=""
  for mode in "1x1" "1x2" "2x1"; do
    times=()
    for rep in 1 2 3; do
      start=$(date +%s.%N)
      case $mode in
        1x1) LSTM_NUM_THREADS=1 "$lstm" "${args[@]}" ;;
        1x2) LSTM_NUM_THREADS=2 "$lstm" "${args[@]}" ;;
        2x1) LSTM_NUM_THREADS=1 "$mpirun" -np 2 "${flags[@]}" "$lstm" "${args[@]}" ;;
      esac
      times+=("$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.3f", b - a }')")
    done
    median=$(printf "%s\n" "${times[@]}" | sort -g | sed -n 2p)
    [ -z "$base" ] && base=$median
    printf "%-6s %-16s %9.2f %8.2fx\n" "$name" "$mode (ranks x threads)" "$median" \
      "$(awk -v a="$base" -v b="$median" 'BEGIN { print a / b }')"
  done
done
