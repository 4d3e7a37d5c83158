#!/usr/bin/python3
"""Spoken digits for lstm speech: synthetic voices to train on, a real voice to test on.

    scripts/install-deps.sh speech               # espeak-ng, flite, sox, the Asterisk prompts
    /usr/bin/python3 scripts/speech_data.py OUT [--train 6000] [--valid 400] [--seed 1]

Writes, under OUT (nothing here is committed: the recordings are CC-BY-SA, and the rest is
made in a minute):
  train/*.wav, train.tsv     synthesised speech: isolated digits ("seven", 30%) and strings of
                             2-7 digits ("four one seven"), half from espeak-ng (8 English
                             voices x 12 voice variants), half from flite (5 voices), at
                             random speaking rates and pitches; then, with sox and NumPy, sped
                             up or slowed down by 0.8-1.25 (formants, pitch and tempo: 80%;
                             a shorter or longer vocal tract), tempo alone (30%),
                             bass and treble +-8 dB (50%), a room's reverberation (25%),
                             resampled to 8 kHz, sometimes limited to the telephone band
                             (300-3400 Hz: 50%), given 0.05-0.4 s of
                             silence around, a level from -20 to -1 dBFS and noise from 5 to
                             40 dB below the speech (or none)
  valid/*.wav, valid.tsv     the same kind, other random draws: for early stopping
  real-digits/*.wav, real-digits.tsv    a real human voice that training never hears: the
                             ten recorded digits of Debian's asterisk-core-sounds-en-wav (the
                             voice of Allison Smith; 8 kHz; CC-BY-SA 3.0), one file per digit
  real-strings/*.wav, real-strings.tsv  the same recordings joined into 200 digit strings of
                             2-6 digits with pauses of 0.05-0.3 s between them
Each .tsv line is `path<TAB>text`, the path relative to the .tsv's folder (lstm speech train
--audio OUT --transcripts OUT/train.tsv).
"""
import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import wave
from multiprocessing import Pool

import numpy as np

WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
ESPEAK_VOICES = ["en-us", "en", "en-gb-scotland", "en-gb-x-rp", "en-gb-x-gbclan", "en-gb-x-gbcwmd",
                 "en-029", "en-us-nyc"]
ESPEAK_VARIANTS = ["", "m1", "m2", "m3", "m4", "m5", "m6", "m7", "f1", "f2", "f3", "f4"]
FLITE_VOICES = ["kal", "kal16", "awb", "rms", "slt"]
ALLISON = "/usr/share/asterisk/sounds/en_US_f_Allison/digits"
RATE = 8000
FLITE_SHARE_NOT = 0.5   # espeak-ng's share; flite's is the rest (--flite)
SPEED = (0.8, 1.25)     # sox speed: formants, pitch and tempo scaled together (--speed)


def need(tool, package):
    if shutil.which(tool) is None:
        sys.exit(f"speech_data.py: '{tool}' is missing: run scripts/install-deps.sh speech (Debian's {package})")


def read_wav(path):
    with wave.open(path, "rb") as w:
        if w.getsampwidth() != 2 or w.getnchannels() != 1:
            raise ValueError(f"{path}: expected 16-bit mono")
        return np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16).astype(np.float64) / 32768.0, w.getframerate()


def write_wav(path, x, rate=RATE):
    pcm = np.round(np.clip(x, -1.0, 32767 / 32768) * 32768).astype(np.int16)
    tmp = path + ".part"
    with wave.open(tmp, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.tobytes())
    os.replace(tmp, path)


def synthesise(job):
    """One utterance: (index, folder, text, seed) -> (relative path, text)."""
    index, folder, text, seed = job
    rng = random.Random(seed)
    nrng = np.random.default_rng(seed)
    with tempfile.TemporaryDirectory() as tmp:
        raw = os.path.join(tmp, "raw.wav")
        if rng.random() < FLITE_SHARE_NOT:
            voice = rng.choice(ESPEAK_VOICES)
            variant = rng.choice(ESPEAK_VARIANTS)
            cmd = ["espeak-ng", "-v", voice + ("+" + variant if variant else ""), "-s", str(rng.randint(110, 210)),
                   "-p", str(rng.randint(25, 75)), "-g", str(rng.randint(0, 12)), "-w", raw, text]
        else:
            voice = rng.choice(FLITE_VOICES)
            cmd = ["flite", "-voice", voice, "--setf", f"duration_stretch={rng.uniform(0.75, 1.35):.2f}",
                   "--setf", f"int_f0_target_mean={rng.uniform(85, 190):.0f}", "-t", text, "-o", raw]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        out = os.path.join(tmp, "8k.wav")
        effects = []
        if rng.random() < 0.8:  # vocal tract length, pitch and tempo together (resampling)
            effects += ["speed", f"{rng.uniform(SPEED[0], SPEED[1]):.3f}"]
        if rng.random() < 0.3:  # tempo alone
            effects += ["tempo", "-s", f"{rng.uniform(0.85, 1.15):.3f}"]
        if rng.random() < 0.5:  # a different microphone or channel
            effects += ["bass", f"{rng.uniform(-8, 8):.1f}", "treble", f"{rng.uniform(-8, 8):.1f}"]
        if rng.random() < 0.25:  # a room
            effects += ["reverb", f"{rng.uniform(10, 50):.0f}", "50", f"{rng.uniform(20, 80):.0f}"]
        effects += ["rate", "-h", str(RATE)]
        if rng.random() < 0.5:
            effects += ["sinc", "300-3400"]  # the telephone band
        subprocess.run(["sox", "-R", raw, "-r", str(RATE), "-c", "1", "-b", "16", out] + effects, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        x, _ = read_wav(out)
    x = x / max(np.max(np.abs(x)), 1e-9)
    x = np.concatenate([np.zeros(int(RATE * rng.uniform(0.05, 0.4))), x, np.zeros(int(RATE * rng.uniform(0.05, 0.4)))])
    x *= 10 ** (rng.uniform(-20, -1) / 20)
    if rng.random() < 0.75:
        rms = np.sqrt(np.mean(x ** 2)) + 1e-12
        noise = nrng.standard_normal(len(x))
        if rng.random() < 0.5:  # pink-ish: white noise through a one-pole low-pass
            for i in range(1, len(noise)):
                noise[i] = 0.9 * noise[i - 1] + 0.1 * noise[i]
        noise *= rms * 10 ** (-rng.uniform(5, 40) / 20) / (np.sqrt(np.mean(noise ** 2)) + 1e-12)
        x = x + noise
    name = f"{folder}/{index:05d}.wav"
    return name, x, text


def texts(count, rng):
    out = []
    for _ in range(count):
        n = 1 if rng.random() < 0.3 else rng.randint(2, 7)
        out.append(" ".join(rng.choice(WORDS) for _ in range(n)))
    return out


def make_synthetic(root, folder, count, seed, pool):
    rng = random.Random(seed)
    os.makedirs(os.path.join(root, folder), exist_ok=True)
    jobs = [(i, folder, t, seed * 1000003 + i) for i, t in enumerate(texts(count, rng))]
    lines = []
    for k, (name, x, text) in enumerate(pool.imap(synthesise, jobs, chunksize=8)):
        write_wav(os.path.join(root, name), x)
        lines.append(f"{name}\t{text}")
        if (k + 1) % 500 == 0 or k + 1 == count:
            print(f"  {folder}: {k + 1}/{count}", flush=True)
    write_tsv(os.path.join(root, folder + ".tsv"), lines)


def write_tsv(path, lines):
    tmp = path + ".part"
    with open(tmp, "w") as f:
        f.write("\n".join(lines) + "\n")
    os.replace(tmp, path)


def make_real(root):
    if not os.path.isdir(ALLISON):
        sys.exit(f"speech_data.py: {ALLISON} is missing: run scripts/install-deps.sh speech "
                 "(Debian's asterisk-core-sounds-en-wav)")
    digits = []
    os.makedirs(os.path.join(root, "real-digits"), exist_ok=True)
    lines = []
    for d, word in enumerate(WORDS):
        x, rate = read_wav(os.path.join(ALLISON, f"{d}.wav"))
        if rate != RATE:
            raise ValueError(f"{ALLISON}/{d}.wav is {rate} Hz, expected {RATE}")
        digits.append(x)
        name = f"real-digits/{word}.wav"
        write_wav(os.path.join(root, name), x)
        lines.append(f"{name}\t{word}")
    write_tsv(os.path.join(root, "real-digits.tsv"), lines)
    rng = random.Random(104730)  # the same strings whatever --seed: results stay comparable
    os.makedirs(os.path.join(root, "real-strings"), exist_ok=True)
    lines = []
    for i in range(200):
        seq = [rng.randrange(10) for _ in range(rng.randint(2, 6))]
        parts = [np.zeros(int(RATE * 0.1))]
        for k, d in enumerate(seq):
            if k:
                parts.append(np.zeros(int(RATE * rng.uniform(0.05, 0.3))))
            parts.append(digits[d])
        parts.append(np.zeros(int(RATE * 0.1)))
        name = f"real-strings/{i:03d}.wav"
        write_wav(os.path.join(root, name), np.concatenate(parts))
        lines.append(f"{name}\t{' '.join(WORDS[d] for d in seq)}")
    write_tsv(os.path.join(root, "real-strings.tsv"), lines)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("out")
    p.add_argument("--train", type=int, default=6000)
    p.add_argument("--valid", type=int, default=400)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    p.add_argument("--flite", type=float, default=0.5, help="the share of flite's voices (default 0.5)")
    p.add_argument("--speed", type=float, nargs=2, default=[0.8, 1.25], help="sox speed range (default 0.8 1.25)")
    a = p.parse_args()
    global FLITE_SHARE_NOT, SPEED
    FLITE_SHARE_NOT, SPEED = 1.0 - a.flite, tuple(a.speed)
    for tool, package in [("espeak-ng", "espeak-ng"), ("flite", "flite"), ("sox", "sox")]:
        need(tool, package)
    os.makedirs(a.out, exist_ok=True)
    make_real(a.out)
    print(f"real voice: 10 digits, 200 digit strings -> {a.out}/real-digits.tsv, real-strings.tsv")
    with Pool(a.jobs) as pool:
        make_synthetic(a.out, "train", a.train, a.seed, pool)
        make_synthetic(a.out, "valid", a.valid, a.seed + 7919, pool)
    print(f"synthetic: {a.train} training and {a.valid} validation utterances -> {a.out}/train.tsv, valid.tsv")


if __name__ == "__main__":
    main()
