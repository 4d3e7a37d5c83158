#!/bin/sh
# Translation, English to French, on the message catalogues Debian installs: lstm and its
# PyTorch twin side by side (the same files, network, loss, optimizer, batch and epochs), each at
# its best thread count (lstm: 2, PyTorch: 1 on the 2-core reference machine), with the
# copy-the-source baseline.
#
#   scripts/translation_side_by_side.sh [EPOCHS] [LSTM_THREADS] [TORCH_THREADS]
#
# Needs build/bin/lstm, French catalogues in /usr/share/locale/fr/LC_MESSAGES
# (scripts/install-deps.sh translation), and /usr/bin/python3 with python3-torch and OpenBLAS
# (scripts/install-deps.sh bench). Writes build/translation/: the data, the model, its report.
set -eu
cd "$(dirname "$0")/.."
epochs=${1:-10}
threads=${2:-2}
torch_threads=${3:-1}
out=build/translation
net="--source-level word --target-level word --max-tokens 8000 --units 256 --embedding 128 --bidirectional
     --dropout 0.2 --batch-size 64 --lr 0.002 --label-smoothing 0.1"
python3 scripts/translation_data.py /usr/share/locale/fr/LC_MESSAGES "$out"
echo "== lstm $(git rev-parse --short HEAD 2>/dev/null || echo '?'), $threads threads"
build/bin/lstm seq2seq train --pairs "$out/train.tsv" --test "$out/test.tsv" $net --epochs "$epochs" \
  --monitor 0 --threads "$threads" --out "$out/translate.safetensors" --report "$out/translate.html"
build/bin/lstm seq2seq evaluate --model "$out/translate.safetensors" --pairs "$out/test.tsv" --beam 5 \
  --threads "$threads"
echo "== PyTorch twin, $torch_threads thread(s)"
/usr/bin/python3 scripts/seq2seq_twin.py --pairs "$out/train.tsv" --test "$out/test.tsv" $net --epochs "$epochs" \
  --threads "$torch_threads"
