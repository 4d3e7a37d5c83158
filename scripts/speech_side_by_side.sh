#!/bin/sh
# Spoken digits, lstm and its PyTorch twin side by side (issue 16): the same recordings,
# features, network, loss, optimizer, batch, bucketing and early stopping; each side at the
# thread count given (the best on the 2-core reference machine: lstm 2, PyTorch 1); then both
# scored on the real voice, and pocketsphinx with its digits grammar beside them.
#
#   scripts/speech_side_by_side.sh [EPOCHS] [LSTM_THREADS] [TORCH_THREADS] [SEED]
#
# Needs build/bin/lstm, the data (scripts/install-deps.sh speech-anchors;
# /usr/bin/python3 scripts/speech_data.py build/speech), and /usr/bin/python3 with python3-torch
# and OpenBLAS (scripts/install-deps.sh bench). Writes build/speech/digits.safetensors and its
# report. With EPOCHS small and early stopping off (PATIENCE=1000), it times epochs.
set -eu
cd "$(dirname "$0")/.."
epochs=${1:-30}
threads=${2:-2}
torch_threads=${3:-1}
seed=${4:-42}
patience=${PATIENCE:-5}
d=build/speech
net="--sample-rate 8000 --units 128 --layers 2 --stack 2 --batch-size 32 --lr 0.002 --patience $patience --seed $seed"
echo "== lstm $(git rev-parse --short HEAD 2>/dev/null || echo '?'), $threads threads"
build/bin/lstm speech train --audio $d --transcripts $d/train.tsv --valid $d/valid.tsv $net --epochs "$epochs" \
  --threads "$threads" --out $d/digits.safetensors --report $d/digits.html
for t in real-digits real-strings; do
  echo "-- $t, greedy"
  build/bin/lstm speech evaluate --model $d/digits.safetensors --audio $d --transcripts $d/$t.tsv --threads 1
  echo "-- $t, beam 16 with the training words as lexicon"
  build/bin/lstm speech evaluate --model $d/digits.safetensors --audio $d --transcripts $d/$t.tsv --threads 1 \
    --beam 16 --lexicon training
done
echo "== PyTorch twin, $torch_threads thread(s)"
/usr/bin/python3 scripts/speech_twin.py --audio $d --transcripts $d/train.tsv --valid $d/valid.tsv \
  --test $d/real-digits.tsv --test $d/real-strings.tsv $net \
  --epochs "$epochs" --threads "$torch_threads"
echo "== pocketsphinx, digits grammar"
/usr/bin/python3 scripts/pocketsphinx_digits.py $d/real-digits.tsv $d/real-strings.tsv
