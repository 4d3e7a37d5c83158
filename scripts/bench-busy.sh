#!/usr/bin/env bash
# Whole training runs through the CLI on a quiet machine and beside two kinds of background load,
# each with the default threads and with --threads 1 (docs/performance.md, "Busy machines"):
#
#   scripts/bench-busy.sh            # ~4 minutes on the 2-core development machine
#   REPEATS=1 scripts/bench-busy.sh  # each cell the least of REPEATS runs (default 3)
#   LSTM_BIN=other/lstm scripts/bench-busy.sh   # another build of the CLI, for a before/after
#
# Loads: "busy" is one shell busy loop (`while :; do :; done`: a core taken by another program);
# "spawn" is a shell starting /bin/true without pause (short processes waking on any core). The
# last column compares each default-threads run's result line with the quiet one's: the team the
# thread governor picks under load must change no result.
# Prints a Markdown table; run it on an otherwise idle machine (check `uptime`).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${LSTM_BIN:-build/bin/lstm}
[ -x "$BIN" ] || { echo "bench-busy: no CLI at $BIN: build first (cmake --build build)" >&2; exit 1; }
tmp=$(mktemp -d)
load_pid=""
cleanup() { [ -n "$load_pid" ] && kill "$load_pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
head -c 400000 data/text/sotu-1989-2021.txt > "$tmp/text.txt"

job() {  # job NAME: the training command of one use case (the threads flag is added by run)
  case "$1" in
    charlm) echo "text train --text $tmp/text.txt --out $tmp/lm.safetensors --epochs 1 --quiet" ;;
    sentiment) echo "classify train --data data/text/sentiment.tsv --text-column text --label-column label --out $tmp/s.safetensors --epochs 3 --quiet" ;;
    forecaster) echo "train --csv data/seattle-weather.csv --target temp_max --lookback 30 --epochs 20 --batch-size 32 --out $tmp/f.safetensors --quiet" ;;
  esac
}

REPEATS=${REPEATS:-3}
run() {  # run JOB [FLAGS...]: prints "seconds|result", the least of REPEATS runs
  local name=$1; shift
  local start end out best=""
  for _ in $(seq "$REPEATS"); do
    start=$(date +%s.%N)
    # shellcheck disable=SC2046
    out=$("$BIN" $(job "$name") "$@" 2>&1 | tail -1)
    end=$(date +%s.%N)
    t=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f", b - a }')
    if [ -z "$best" ] || awk -v t="$t" -v b="$best" 'BEGIN { exit !(t < b) }'; then best=$t; fi
  done
  printf '%.2f|%s\n' "$best" "$out"
}

start_load() {
  case "$1" in
    quiet) load_pid="" ;;
    busy) (while :; do :; done) & load_pid=$! ;;
    spawn) (while :; do /bin/true; done) & load_pid=$! ;;
  esac
  sleep 0.5
}

stop_load() {
  if [ -n "$load_pid" ]; then kill "$load_pid" 2>/dev/null; wait "$load_pid" 2>/dev/null || true; fi
  load_pid=""
}

echo "CLI: $BIN ($(git rev-parse --short HEAD 2>/dev/null || echo '?')), $(nproc) cores, $(date -u '+%Y-%m-%d %H:%M UTC'), load before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| job | load | default threads (s) | 1 thread (s) | default / 1 thread | result as quiet |"
echo "|---|---|---|---|---|---|"
for name in charlm sentiment forecaster; do
  quiet_result=""
  for load in quiet busy spawn; do
    start_load "$load"
    d=$(run "$name")
    o=$(run "$name" --threads 1)
    stop_load
    ds=${d%%|*} os=${o%%|*}
    [ "$load" = quiet ] && quiet_result=${d#*|}
    same=no; [ "${d#*|}" = "$quiet_result" ] && same=yes
    printf '| %s | %s | %s | %s | %s | %s |\n' "$name" "$load" "$ds" "$os" \
      "$(awk -v d="$ds" -v o="$os" 'BEGIN { printf "%.2f", d / o }')" "$same"
  done
done
