#!/usr/bin/env bash
# Installs the Debian 12 packages lstm needs that are missing (and nothing else).
#   scripts/install-deps.sh build   compiler, CMake, JSON, oneDNN, libsndfile, libsoxr, KissFFT,
#                                   libzip, HDF5, ONNX's protobuf classes, FFmpeg's libraries
#   scripts/install-deps.sh test    the above + GoogleTest, PyTorch and NumPy (parity tests), h5py
#                                   (Keras-layout fixtures), python3-onnx (its checker), and
#                                   onnxruntime-node from npm (tests/onnx: an independent runtime),
#                                   Chromium and PIL (the HTML report is rendered and checked),
#                                   strace (streaming makes no system calls per step)
#                                   and the Python module's build and tests (pybind11, pytest,
#                                   pip, venv), Open MPI (data-parallel fit on 1-3 local ranks)
#   scripts/install-deps.sh mpi     build + Open MPI, for mpirun -np N lstm train (lstm/distributed.h)
#   scripts/install-deps.sh python  build + pybind11, Python's headers, NumPy, pip, setuptools,
#                                   wheel and venv, for scripts/install-python.sh
#   scripts/install-deps.sh bench   build + PyTorch and OpenBLAS, for scripts/bench-compare.sh
#   scripts/install-deps.sh quality build + statsmodels (Holt-Winters), for scripts/forecast_quality.py
#   scripts/install-deps.sh fuzz    build + clang, libFuzzer and LLVM's OpenMP, for scripts/fuzz.sh
#   scripts/install-deps.sh music   build + the MIDI songs of Debian's openttd-openmsx (GPL-2, so
#                                   installed here, never committed), for lstm music train
#   scripts/install-deps.sh speech  build + espeak-ng, flite and sox (training speech made here)
#                                   and the recorded prompts of asterisk-core-sounds-en-wav
#                                   (CC-BY-SA 3.0, so installed here, never committed), for
#                                   scripts/speech_data.py
#   scripts/install-deps.sh speech-anchors  speech + pocketsphinx with its US English model,
#                                   for scripts/pocketsphinx_digits.py
#   scripts/install-deps.sh video   build + FFmpeg's command line and scikit-learn's digits (BSD /
#                                   CC BY 4.0), for scripts/moving_digits.py
#   scripts/install-deps.sh translation  build + French message catalogues (iso-codes' country,
#                                   language and currency names, glibc's and gettext's messages;
#                                   GPL/LGPL, read at run time, never committed), for
#                                   scripts/translation_data.py
set -euo pipefail
what=${1:-build}
packages=(g++ cmake make pkg-config nlohmann-json3-dev libdnnl-dev libsndfile1-dev libsoxr-dev libkissfft-dev libzip-dev libhdf5-dev libonnx-dev libprotobuf-dev
          libavformat-dev libavcodec-dev libswscale-dev libavutil-dev)
if [ "$what" = test ]; then
  packages+=(libgtest-dev python3-torch python3-numpy python3-h5py python3-onnx chromium python3-pil strace)
  packages+=(pybind11-dev python3-dev python3-numpy python3-pip python3-setuptools python3-wheel python3-venv python3-pytest)
  packages+=(libopenmpi-dev openmpi-bin)
  packages+=(ffmpeg python3-sklearn)   # the video tests: clips encoded by FFmpeg, scikit-learn's digits
  command -v npm >/dev/null || packages+=(nodejs npm)   # the machine's own Node.js when it has one
elif [ "$what" = python ]; then
  packages+=(pybind11-dev python3-dev python3-numpy python3-pip python3-setuptools python3-wheel python3-venv)
elif [ "$what" = mpi ]; then
  packages+=(libopenmpi-dev openmpi-bin)
elif [ "$what" = fuzz ]; then
  packages+=(clang libclang-rt-dev libomp-dev)
elif [ "$what" = music ]; then
  packages+=(openttd-openmsx)   # /usr/share/games/openttd/baseset/openmsx/*.mid
elif [ "$what" = speech ]; then
  packages+=(python3-numpy espeak-ng flite sox asterisk-core-sounds-en-wav)
elif [ "$what" = speech-anchors ]; then
  packages+=(python3-numpy espeak-ng flite sox asterisk-core-sounds-en-wav pocketsphinx pocketsphinx-en-us)
elif [ "$what" = translation ]; then
  packages+=(iso-codes libc-l10n gettext)   # /usr/share/locale/fr/LC_MESSAGES/*.mo
elif [ "$what" = video ]; then
  packages+=(python3-numpy ffmpeg python3-sklearn)   # scripts/moving_digits.py: digits, encoded clips
elif [ "$what" = quality ]; then
  packages+=(python3-numpy python3-statsmodels)
elif [ "$what" = bench ]; then
  packages+=(python3-torch python3-numpy libopenblas-dev)
elif [ "$what" != build ]; then
  echo "usage: $0 [build|test|python|mpi|bench|quality|fuzz|music|speech|speech-anchors|translation|video]" >&2
  exit 2
fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# the tests' independent ONNX runtime, from the npm registry (test-only; --ignore-scripts: its
# install script would fetch GPU builds)
onnx_runtime() {
  local dir
  dir="$(cd "$(dirname "$0")/.." && pwd)/tests/onnx"
  if [ "$what" = test ] && [ ! -d "$dir/node_modules/onnxruntime-node" ]; then
    (cd "$dir" && npm ci --ignore-scripts --no-audit --no-fund)
  fi
}
if [ ${#missing[@]} -eq 0 ]; then
  onnx_runtime
  exit 0
fi
echo "installing: ${missing[*]}"
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
$sudo apt-get update -q
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
onnx_runtime
