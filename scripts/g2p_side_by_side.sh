#!/bin/sh
# Pronunciation (grapheme to phoneme) on CMUdict, lstm and its PyTorch twin side by side: the
# same files, network, loss, optimizer, batch and epochs; each side at its best thread count
# (lstm: 2, PyTorch: 1 on the 2-core reference machine, where its second thread slows it down).
#
#   scripts/g2p_side_by_side.sh [EPOCHS] [LSTM_THREADS] [TORCH_THREADS]
#
# Needs build/bin/lstm, and /usr/bin/python3 with python3-torch and OpenBLAS
# (scripts/install-deps.sh bench). Writes build/g2p/: the data, the model, its report.
set -eu
cd "$(dirname "$0")/.."
epochs=${1:-10}
threads=${2:-2}
torch_threads=${3:-1}
out=build/g2p
net="--target-level word --units 256 --embedding 64 --bidirectional --batch-size 64 --lr 0.002 --label-smoothing 0.1"
python3 scripts/g2p_data.py data/g2p/cmudict.txt "$out"
echo "== lstm $(git rev-parse --short HEAD 2>/dev/null || echo '?'), $threads threads"
build/bin/lstm seq2seq train --pairs "$out/train.tsv" --test "$out/test.tsv" $net --epochs "$epochs" \
  --monitor 0 --threads "$threads" --out "$out/g2p.safetensors" --report "$out/g2p.html"
echo "== PyTorch twin, $torch_threads thread(s)"
/usr/bin/python3 scripts/seq2seq_twin.py --pairs "$out/train.tsv" --test "$out/test.tsv" $net --epochs "$epochs" \
  --threads "$torch_threads"
