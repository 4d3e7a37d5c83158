"""An independent NumPy reference for lstm's speech features (lstm/audio.h), in float64.

    /usr/bin/python3 tests/parity/feature_reference.py OUTDIR     (torch_reference.py calls it too)

Writes OUTDIR/features/<case>/: signal.wav (16-bit PCM, written with Python's wave module),
options.json (lstm's FeatureOptions as JSON) and features.npy ([frames, dims], float64), for
signals of tones, a chirp, noise and silence at 8, 16 and 22.05 kHz. The definitions are
written out here from the formulas, not from lstm's code: numpy.fft.rfft for the spectrum.
"""
import json
import os
import sys
import wave

import numpy as np


def mel(f):
    return 2595.0 * np.log10(1.0 + f / 700.0)


def mel_inv(m):
    return 700.0 * (10.0 ** (m / 2595.0) - 1.0)


def filterbank(rate, K, J, low, high):
    edges = mel_inv(np.linspace(mel(low), mel(high), J + 2))
    f = np.arange(K // 2 + 1) * rate / K
    M = np.zeros((J, K // 2 + 1))
    for j in range(J):
        lo, mid, hi = edges[j], edges[j + 1], edges[j + 2]
        M[j] = np.maximum(0.0, np.minimum((f - lo) / (mid - lo), (hi - f) / (hi - mid)))
    return M


def deltas(c):
    T = c.shape[0]
    idx = lambda s: np.clip(s, 0, T - 1)
    t = np.arange(T)
    return sum(n * (c[idx(t + n)] - c[idx(t - n)]) for n in (1, 2)) / 10.0


def features(x, o):
    rate = o["sample_rate"]
    W = int(round(rate * o["frame_ms"] / 1000.0))
    H = int(round(rate * o["hop_ms"] / 1000.0))
    K = o["fft_size"] or 1 << int(np.ceil(np.log2(W)))
    a = o["preemphasis"]
    y = np.concatenate([x[:1], x[1:] - a * x[:-1]])
    n = 1 + (len(y) - W) // H
    frames = np.stack([y[t * H:t * H + W] for t in range(n)])
    w = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(W) / W)
    P = np.abs(np.fft.rfft(frames * w, n=K)) ** 2
    high = o["high_hz"] or rate / 2.0
    J = o["mel_bands"]
    E = np.log(np.maximum(P @ filterbank(rate, K, J, o["low_hz"], high).T, 1e-10))
    if o["kind"] == "mfcc":
        i, j = np.meshgrid(np.arange(o["mfcc"]), np.arange(J), indexing="ij")
        D = np.sqrt(2.0 / J) * np.cos(np.pi * i * (j + 0.5) / J)
        D[0] = np.sqrt(1.0 / J)
        base = E @ D.T
    else:
        base = E
    parts = [base]
    if o["deltas"] >= 1:
        parts.append(deltas(base))
    if o["deltas"] >= 2:
        parts.append(deltas(parts[1]))
    f = np.concatenate(parts, axis=1)
    if o["normalization"] == "utterance":
        f = (f - f.mean(axis=0)) / np.maximum(f.std(axis=0), 1e-5)
    return f


def options(**kw):
    o = {"sample_rate": 16000, "frame_ms": 25.0, "hop_ms": 10.0, "fft_size": 0, "mel_bands": 40,
         "low_hz": 20.0, "high_hz": 0.0, "preemphasis": 0.97, "kind": "log_mel", "mfcc": 13,
         "deltas": 2, "normalization": "utterance", "mean": [], "stddev": []}
    o.update(kw)
    return o


def signal(rate, seconds, seed, silent_middle=False):
    rng = np.random.default_rng(seed)
    t = np.arange(int(rate * seconds)) / rate
    x = 0.3 * np.sin(2 * np.pi * 440 * t) + 0.2 * np.sin(2 * np.pi * (200 + 1500 * t) * t)
    x += 0.05 * rng.standard_normal(len(t))
    x *= 0.5 + 0.5 * np.sin(2 * np.pi * 2.0 * t) ** 2  # syllable-like loudness
    if silent_middle:
        x[len(x) // 3: len(x) // 2] = 0.0  # digital silence: the 1e-10 floor
    return np.round(np.clip(x, -1, 1) * 32767).astype(np.int16)


CASES = [
    ("log_mel_16k", 16000, 1.0, options()),
    ("mfcc_16k", 16000, 0.8, options(kind="mfcc", mfcc=13, deltas=2)),
    ("log_mel_8k_plain", 8000, 1.2, options(sample_rate=8000, mel_bands=23, deltas=0, normalization="none",
                                               high_hz=3800.0, preemphasis=0.0)),
    ("mfcc_8k_silence", 8000, 1.0, options(sample_rate=8000, kind="mfcc", mel_bands=26, mfcc=12, deltas=1,
                                           normalization="none", fft_size=512, frame_ms=32.0, hop_ms=16.0)),
    ("log_mel_22k_one_frame", 22050, 0.03, options(sample_rate=22050, mel_bands=64, low_hz=0.0, normalization="none")),
]


def main():
    root = os.path.join(sys.argv[1], "features")
    for seed, (name, rate, seconds, o) in enumerate(CASES):
        d = os.path.join(root, name)
        os.makedirs(d, exist_ok=True)
        pcm = signal(rate, seconds, seed, silent_middle="silence" in name)
        with wave.open(os.path.join(d, "signal.wav"), "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(rate)
            w.writeframes(pcm.tobytes())
        with open(os.path.join(d, "options.json"), "w") as f:
            json.dump(o, f)
        np.save(os.path.join(d, "features.npy"), features(pcm.astype(np.float64) / 32768.0, o))
    with open(os.path.join(root, "cases.txt"), "w") as f:
        f.write("\n".join(c[0] for c in CASES) + "\n")


if __name__ == "__main__":
    main()
