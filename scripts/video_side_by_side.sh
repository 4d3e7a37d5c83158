#!/bin/sh
# Video, lstm and its PyTorch twin side by side (docs/video.md): activity recognition on the
# moving digits (ConvLSTM2D classifier) and next-frame prediction on the bouncing digits; the
# same files, network, initialisation, loss, optimizer, batch and epochs; each side at its best
# thread count (lstm 2, PyTorch 1 on the 2-core reference machine; give others as arguments).
#
#   scripts/video_side_by_side.sh [LSTM_THREADS] [TORCH_THREADS]
#
# Needs build/bin/lstm, and /usr/bin/python3 with python3-torch and OpenBLAS
# (scripts/install-deps.sh bench) and scripts/install-deps.sh video. Writes build/video/.
set -eu
cd "$(dirname "$0")/.."
threads=${1:-2}
torch_threads=${2:-1}
out=build/video
[ -f "$out/bouncing_test.npy" ] || /usr/bin/python3 scripts/moving_digits.py "$out"
echo "== activity recognition: lstm $(git rev-parse --short HEAD 2>/dev/null || echo '?'), $threads threads"
/usr/bin/time -f "lstm: %e s wall (reading the clips included)" build/bin/lstm video train --clips "$out/train" \
  --test-clips "$out/test" --out "$out/activity.safetensors" --report "$out/activity.html" --threads "$threads" --quiet
echo "== activity recognition: PyTorch twin, $torch_threads thread(s)"
/usr/bin/python3 scripts/video_twin.py classify --clips "$out/train" --test-clips "$out/test" --threads "$torch_threads" \
  | tail -1
echo "== next-frame prediction: lstm, $threads threads"
/usr/bin/time -f "lstm: %e s wall (reading the sequences included)" build/bin/lstm video predict-frames \
  --data "$out/bouncing.npy" --test "$out/bouncing_test.npy" --out "$out/frames.safetensors" \
  --report "$out/frames.html" --threads "$threads" --quiet
echo "== next-frame prediction: PyTorch twin, $torch_threads thread(s)"
/usr/bin/python3 scripts/video_twin.py frames --data "$out/bouncing.npy" --test "$out/bouncing_test.npy" \
  --threads "$torch_threads" | tail -1
