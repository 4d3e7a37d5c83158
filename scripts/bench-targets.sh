#!/usr/bin/env bash
# Every target of the speed issue (issue 19: docs/performance.md, "Issue 19's targets") measured
# in one run, then one table of them (scripts/bench_targets_table.py): the comparison run
# (scripts/bench-compare.sh: the suite against oneDNN and PyTorch, the layer set, the use-case
# rows against PyTorch), low precision (bench-precision.sh), the shapes near the suite against
# oneDNN (bench-spread.sh), the three cells (bench-cells.sh) and whole training runs beside a
# background load (bench-busy.sh). About 50 minutes on the 2-core development machine; run it
# on an otherwise idle machine (check `uptime`). Raw outputs and every table in build/bench/.
#   scripts/bench-targets.sh [seconds-per-window]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-0.5}
suite=${LSTM_SHARED:-../shared}/bench/suite.tsv
[ -f "$suite" ] || { echo "no benchmark suite at $suite (set LSTM_SHARED)" >&2; exit 1; }
out=build/bench
mkdir -p "$out"
echo "bench-targets: start $(date -u '+%Y-%m-%d %H:%M UTC'), load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
scripts/bench-compare.sh "$seconds"
grep -v '^#' "$suite" | awk 'NF && $1 != "name" { print $1 }' > "$out/suite_names.txt"
scripts/bench-precision.sh "$seconds"
scripts/bench-spread.sh "$seconds"
scripts/bench-cells.sh | tee "$out/cells_table.md"
scripts/bench-busy.sh | tee "$out/busy_table.md"
echo "bench-targets: end $(date -u '+%Y-%m-%d %H:%M UTC')" >&2
/usr/bin/python3 scripts/bench_targets_table.py "$out" | tee "$out/targets_table.md"
